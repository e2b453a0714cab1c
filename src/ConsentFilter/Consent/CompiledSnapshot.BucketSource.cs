using System.Buffers.Binary;
using System.Text;

namespace ConsentFilter.Consent;

/// <summary>The optional metadata section that ties a compiled snapshot to the key-value bucket it was read from.</summary>
public sealed partial class CompiledSnapshot
{
    /// <summary>The bucket and stream sequence the file reflects, when it was built from a key-value bucket; null when built from a CSV.</summary>
    public SnapshotBucketSource? BucketSource { get; }

    /// <summary>Reads the metadata sections after the region sets; unknown tags are skipped, so later sections stay readable.</summary>
    private static SnapshotBucketSource? ReadSections(ReadOnlySpan<byte> meta, int position, string path, out string? origin, out MergeStateSection? mergeState)
    {
        SnapshotBucketSource? source = null;
        origin = null;
        mergeState = null;
        try
        {
            while (position < meta.Length)
            {
                var tag = BinaryPrimitives.ReadUInt16LittleEndian(meta[position..]);
                var length = BinaryPrimitives.ReadInt32LittleEndian(meta[(position + 2)..]);
                var payload = meta.Slice(position + 6, length);
                position += 6 + length;
                if (tag == CompiledSnapshotFormat.SectionBucketSource)
                {
                    var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(payload);
                    var bucket = Encoding.UTF8.GetString(payload.Slice(2, nameLength));
                    var rest = payload[(2 + nameLength)..];
                    var sequence = BinaryPrimitives.ReadUInt64LittleEndian(rest);
                    var createdNanoseconds = BinaryPrimitives.ReadInt64LittleEndian(rest[8..]);
                    source = new SnapshotBucketSource(bucket, sequence, DateTimeOffset.UnixEpoch.AddTicks(createdNanoseconds / 100));
                }
                else if (tag == CompiledSnapshotFormat.SectionOrigin)
                {
                    origin = Encoding.UTF8.GetString(payload);
                }
                else if (tag == CompiledSnapshotFormat.SectionMergeState)
                {
                    mergeState = MergeStateSection.Read(payload, path);
                }
            }
        }
        catch (ArgumentOutOfRangeException)
        {
            throw Corrupt(path, "metadata section is truncated");
        }

        return source;
    }
}

/// <summary>Where a compiled snapshot built from a JetStream key-value bucket was read: the bucket's stream up to a sequence.</summary>
/// <param name="Bucket">The key-value bucket.</param>
/// <param name="StreamSequence">
/// The bucket stream's last sequence when the read started: the file holds every change up to it (and possibly a few after).
/// </param>
/// <param name="StreamCreated">When the bucket's stream was created: a different value means the bucket was deleted and recreated.</param>
public sealed record SnapshotBucketSource(string Bucket, ulong StreamSequence, DateTimeOffset StreamCreated)
{
    /// <summary>The metadata section's payload: <c>u16 length + UTF-8 bucket, u64 sequence, i64 stream creation in Unix nanoseconds</c>.</summary>
    internal byte[] ToSection()
    {
        var name = Encoding.UTF8.GetBytes(Bucket);
        var section = new byte[6 + 2 + name.Length + 16];
        BinaryPrimitives.WriteUInt16LittleEndian(section, CompiledSnapshotFormat.SectionBucketSource);
        BinaryPrimitives.WriteInt32LittleEndian(section.AsSpan(2), section.Length - 6);
        BinaryPrimitives.WriteUInt16LittleEndian(section.AsSpan(6), checked((ushort)name.Length));
        name.CopyTo(section.AsSpan(8));
        BinaryPrimitives.WriteUInt64LittleEndian(section.AsSpan(8 + name.Length), StreamSequence);
        BinaryPrimitives.WriteInt64LittleEndian(section.AsSpan(16 + name.Length), (StreamCreated.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100);
        return section;
    }
}
