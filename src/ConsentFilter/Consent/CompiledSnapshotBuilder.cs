using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using ConsentFilter.IO;

namespace ConsentFilter.Consent;

/// <summary>Compiles a loaded consent snapshot into the memory-mappable binary form.</summary>
public static class CompiledSnapshotBuilder
{
    /// <summary>Writes <paramref name="snapshot"/> to <paramref name="path"/> atomically and returns what was written.</summary>
    /// <remarks>
    /// Ids are stored as 96-bit keyed hashes (XxHash128 with a random per-file seed). Two different ids of this snapshot
    /// with the same 96 bits would be merged most restrictively (fail-closed) and counted as collisions.
    /// </remarks>
    public static CompiledSnapshotSummary Build(ConsentSnapshot snapshot, string path) => Build(snapshot, path, null);

    /// <summary>Writes <paramref name="snapshot"/> to <paramref name="path"/> atomically, recording the key-value bucket it was read from.</summary>
    /// <remarks>With a <paramref name="bucketSource"/>, a worker can start from the file and apply only the bucket's later changes.</remarks>
    public static CompiledSnapshotSummary Build(ConsentSnapshot snapshot, string path, SnapshotBucketSource? bucketSource)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var purposes = snapshot.Purposes;
        if (purposes.Count > CompiledSnapshotFormat.MaxPurposes)
        {
            throw new ArgumentException($"a compiled snapshot holds at most {CompiledSnapshotFormat.MaxPurposes} purposes (got {purposes.Count})", nameof(snapshot));
        }

        var seed = BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8));
        var regionSets = new List<string[]> { Array.Empty<string>() };
        var regionSetIndex = new Dictionary<string, int>(StringComparer.Ordinal) { [string.Empty] = 0 };

        var entries = new Entry[snapshot.Users.Count];
        var n = 0;
        foreach (var (id, consent) in snapshot.Users)
        {
            var (high, low) = CompiledSnapshotFormat.Hash(id, seed);
            entries[n++] = new Entry(high, low, consent);
        }

        Array.Sort(entries, static (a, b) => a.High != b.High ? a.High.CompareTo(b.High) : a.Low.CompareTo(b.Low));

        // Collisions: equal 96-bit keys for different ids (ids are already unique). Merge most restrictively.
        var unique = new List<Entry>(entries.Length);
        long collisions = 0;
        foreach (var entry in entries)
        {
            if (unique.Count > 0 && unique[^1].High == entry.High && unique[^1].Low == entry.Low)
            {
                collisions++;
                unique[^1] = unique[^1] with { Consent = MergeStrictest(unique[^1].Consent, entry.Consent, purposes.Count) };
                continue;
            }

            unique.Add(entry);
        }

        // Region sets first: they must be known before the metadata block that precedes the entries.
        var payloads = new uint[unique.Count];
        for (var i = 0; i < unique.Count; i++)
        {
            var consent = unique[i].Consent;
            var key = string.Join('\n', consent.HomeRegions);
            if (!regionSetIndex.TryGetValue(key, out var set))
            {
                set = regionSets.Count;
                if (set >= CompiledSnapshotFormat.MaxRegionSets)
                {
                    throw new InvalidOperationException($"more than {CompiledSnapshotFormat.MaxRegionSets} distinct home-region sets; cannot compile");
                }

                regionSets.Add(consent.HomeRegions);
                regionSetIndex.Add(key, set);
            }

            payloads[i] = CompiledSnapshotFormat.Payload(consent.States, purposes.Count, consent.Gpc, consent.Minor, set);
        }

        using var meta = new MemoryStream();
        WriteMeta(meta, purposes, regionSets);
        if (bucketSource is not null)
        {
            meta.Write(bucketSource.ToSection());
        }

        var metaBytes = meta.ToArray();
        var metaOffset = (long)CompiledSnapshotFormat.HeaderSize;
        var entriesOffset = Align16(metaOffset + metaBytes.Length);
        var padding = new byte[entriesOffset - metaOffset - metaBytes.Length];
        var fileLength = entriesOffset + ((long)unique.Count * CompiledSnapshotFormat.EntrySize);

        var header = new byte[CompiledSnapshotFormat.HeaderSize];
        CompiledSnapshotFormat.Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetVersion), CompiledSnapshotFormat.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetHeaderSize), CompiledSnapshotFormat.HeaderSize);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetUsers), unique.Count);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetRows), snapshot.Info.Rows);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetConflicts), snapshot.Info.Conflicts);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetCollisions), collisions);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetAsOf),
            snapshot.Info.AsOf?.ToUnixTimeMilliseconds() ?? CompiledSnapshotFormat.NoAsOf);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetSeed), seed);
        Convert.FromHexString(snapshot.Info.Sha256).CopyTo(header.AsSpan(CompiledSnapshotFormat.OffsetSourceSha256));
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetMetaOffset), metaOffset);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetMetaLength), metaBytes.Length);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetPurposeCount), purposes.Count);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetEntriesOffset), entriesOffset);

        var checksum = new XxHash3();
        checksum.Append(header.AsSpan(0, CompiledSnapshotFormat.OffsetChecksum));
        checksum.Append(metaBytes);
        checksum.Append(padding);

        using (var file = AtomicFile.Create(path))
        {
            // Header last (it carries the checksum of everything after it); entries stream in chunks.
            file.Stream.Write(new byte[CompiledSnapshotFormat.HeaderSize]);
            file.Stream.Write(metaBytes);
            file.Stream.Write(padding);
            var chunk = new byte[4096 * CompiledSnapshotFormat.EntrySize];
            for (var start = 0; start < unique.Count; start += 4096)
            {
                var count = Math.Min(4096, unique.Count - start);
                for (var k = 0; k < count; k++)
                {
                    var e = unique[start + k];
                    CompiledSnapshotFormat.WriteEntry(chunk.AsSpan(k * CompiledSnapshotFormat.EntrySize), e.High, e.Low, payloads[start + k]);
                }

                var bytes = chunk.AsSpan(0, count * CompiledSnapshotFormat.EntrySize);
                checksum.Append(bytes);
                file.Stream.Write(bytes);
            }

            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetChecksum), checksum.GetCurrentHashAsUInt64());
            file.Stream.Position = 0;
            file.Stream.Write(header);
            file.Commit();
        }

        return new CompiledSnapshotSummary(path, unique.Count, snapshot.Info.Rows, snapshot.Info.Conflicts, collisions,
            fileLength, regionSets.Count)
        {
            BucketSource = bucketSource,
        };
    }

    private static long Align16(long value) => (value + 15) & ~15L;

    private static void WriteMeta(Stream meta, IReadOnlyList<string> purposes, List<string[]> regionSets)
    {
        using var writer = new BinaryWriter(meta, Encoding.UTF8, leaveOpen: true);
        foreach (var purpose in purposes)
        {
            WriteString(writer, purpose);
        }

        writer.Write(regionSets.Count);
        foreach (var set in regionSets)
        {
            writer.Write(checked((ushort)set.Length));
            foreach (var region in set)
            {
                WriteString(writer, region);
            }
        }
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        writer.Write(checked((ushort)bytes.Length));
        writer.Write(bytes);
    }

    private static UserConsent MergeStrictest(UserConsent a, UserConsent b, int purposeCount) => new(
        a.States.MergeStrictest(b.States, purposeCount),
        a.Gpc || b.Gpc,
        a.Minor || b.Minor,
        [.. a.HomeRegions.Union(b.HomeRegions, StringComparer.Ordinal)]);

    private readonly record struct Entry(ulong High, uint Low, UserConsent Consent);
}

/// <summary>What <see cref="CompiledSnapshotBuilder"/> wrote.</summary>
/// <param name="Path">The file.</param>
/// <param name="Users">Entries (distinct users after collision merging).</param>
/// <param name="Rows">Rows of the source.</param>
/// <param name="Conflicts">Users with conflicting rows in the source.</param>
/// <param name="Collisions">Hash collisions among the snapshot's own ids (merged most restrictively).</param>
/// <param name="Bytes">File size.</param>
/// <param name="RegionSets">Distinct home-region sets.</param>
public sealed record CompiledSnapshotSummary(string Path, long Users, long Rows, long Conflicts, long Collisions, long Bytes, int RegionSets)
{
    /// <summary>The key-value bucket the snapshot was read from; null when built from a CSV.</summary>
    public SnapshotBucketSource? BucketSource { get; init; }
}
