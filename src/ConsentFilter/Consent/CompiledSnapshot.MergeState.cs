using System.Buffers.Binary;
using System.Text;

namespace ConsentFilter.Consent;

/// <summary>The row-merge state a version-2 file stores after its entries, so that changes can be applied to it.</summary>
public sealed unsafe partial class CompiledSnapshot
{
    /// <summary>Whether the file holds each user's row-merge state, so it can be the base of a delta build (format version 2).</summary>
    public bool HasMergeState => MergeState is not null;

    /// <summary>The merge-state section; null for a version-1 file.</summary>
    internal MergeStateSection? MergeState { get; }

    /// <summary>The file's hash key.</summary>
    internal ulong Seed => _seed;

    /// <summary>The file's header as mapped.</summary>
    internal ReadOnlySpan<byte> HeaderBytes => new(_base, CompiledSnapshotFormat.HeaderSize);
}

/// <summary>
/// The merge-state section: where the states are (right after the entries), how many, the newest <c>updated_at</c> of
/// every row the file was built from, and the region lists the states reference (numbered by first use, 0 empty).
/// </summary>
/// <param name="Count">Stored states: one per distinct user (a hash collision between two users keeps both states).</param>
/// <param name="NewestTicks">The newest <c>updated_at</c> of the rows in UTC ticks, or <see cref="long.MinValue"/> when none was dated.</param>
/// <param name="Lists">The region lists, list 0 empty.</param>
internal sealed record MergeStateSection(long Count, long NewestTicks, string[][] Lists)
{
    /// <summary>File offset of the first state (the end of the entries).</summary>
    internal long Offset { get; init; }

    /// <summary>The newest <c>updated_at</c>, or null.</summary>
    internal DateTimeOffset? Newest => NewestTicks == long.MinValue ? null : new DateTimeOffset(NewestTicks, TimeSpan.Zero);

    /// <summary>The section, tag and length included.</summary>
    internal byte[] ToSection()
    {
        using var payload = new MemoryStream();
        using (var writer = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(CompiledSnapshotFormat.SectionMergeState);
            writer.Write(0);
            writer.Write((uint)UserMergeState.RecordSize);
            writer.Write(Count);
            writer.Write(NewestTicks);
            writer.Write(Lists.Length);
            foreach (var list in Lists)
            {
                writer.Write(checked((ushort)list.Length));
                foreach (var region in list)
                {
                    var bytes = Encoding.UTF8.GetBytes(region);
                    writer.Write(checked((ushort)bytes.Length));
                    writer.Write(bytes);
                }
            }
        }

        var section = payload.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(section.AsSpan(2), section.Length - 6);
        return section;
    }

    /// <summary>Reads the section's payload.</summary>
    /// <exception cref="DataFileException">The payload is inconsistent.</exception>
    internal static MergeStateSection Read(ReadOnlySpan<byte> payload, string path)
    {
        var recordSize = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        var count = BinaryPrimitives.ReadInt64LittleEndian(payload[4..]);
        var newest = BinaryPrimitives.ReadInt64LittleEndian(payload[12..]);
        var listCount = BinaryPrimitives.ReadInt32LittleEndian(payload[20..]);
        if (recordSize != UserMergeState.RecordSize || count < 0 || listCount is < 1 or > UserMergeState.MaxRegionLists)
        {
            throw new DataFileException(path, 0, 0, "compiled snapshot refused: bad merge-state section");
        }

        var position = 24;
        var lists = new string[listCount][];
        for (var i = 0; i < listCount; i++)
        {
            var n = BinaryPrimitives.ReadUInt16LittleEndian(payload[position..]);
            position += 2;
            lists[i] = new string[n];
            for (var r = 0; r < n; r++)
            {
                var length = BinaryPrimitives.ReadUInt16LittleEndian(payload[position..]);
                lists[i][r] = Encoding.UTF8.GetString(payload.Slice(position + 2, length));
                position += 2 + length;
            }
        }

        if (lists[0].Length != 0 || position != payload.Length)
        {
            throw new DataFileException(path, 0, 0, "compiled snapshot refused: bad merge-state section");
        }

        return new MergeStateSection(count, newest, lists);
    }
}
