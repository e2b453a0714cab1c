using System.Buffers.Binary;
using System.IO.Hashing;
using System.IO.MemoryMappedFiles;

namespace ConsentFilter.Consent;

/// <summary>The merge of sorted rows into a snapshot in anonymous memory, for rows parsed in memory (no spilled runs).</summary>
internal sealed partial class ExternalSnapshotBuilder
{
    private ExternalSnapshotBuilder(IReadOnlyList<string> purposes, ulong seed, List<string?> regions)
    {
        _displayName = string.Empty;
        _purposes = purposes;
        _directory = string.Empty;
        _seed = seed;
        _regions = regions;
    }

    /// <summary>
    /// Merges <paramref name="runs"/> (each sorted by hash, then input position) by the rules of a file build and maps the
    /// image into anonymous memory: the same entries, region sets and header a file build writes for these rows and
    /// <paramref name="seed"/>, searched like a compiled file, while <see cref="CompiledSnapshot.Info"/> describes the source.
    /// </summary>
    /// <param name="runs">The rows, in sorted runs.</param>
    /// <param name="regions">The region of each <see cref="RowEntry.Region"/> id (id 0: none).</param>
    /// <param name="purposes">The purposes the rows hold.</param>
    /// <param name="seed">The hash key the rows' ids were hashed with.</param>
    /// <param name="source">Where the rows came from, its SHA-256, its data rows and as-of time; users and conflicts are counted here.</param>
    /// <exception cref="CompiledSnapshotBuilder.RegionSetOverflowException">More home-region sets than the format holds.</exception>
    internal static CompiledSnapshot CompileSortedRuns(
        IReadOnlyList<ReadOnlyMemory<RowEntry>> runs, List<string?> regions, IReadOnlyList<string> purposes, ulong seed, SnapshotInfo source)
    {
        var builder = new ExternalSnapshotBuilder(purposes, seed, regions);
        long rows = 0;
        var sources = new List<IRun>(runs.Count);
        foreach (var run in runs)
        {
            rows += run.Length;
            sources.Add(new MemoryRun(run));
        }

        // At most one entry a row: the buffer never grows.
        var entries = new byte[rows * CompiledSnapshotFormat.EntrySize];
        var written = 0;
        var regionSets = new CompiledSnapshotBuilder.RegionSetTable();
        var counts = builder.MergeUsers(new MergedRows(sources), regionSets, (high, low, payload) =>
        {
            CompiledSnapshotFormat.WriteEntry(entries.AsSpan(written), high, low, payload);
            written += CompiledSnapshotFormat.EntrySize;
        });

        var info = source with { Users = counts.Ids, Conflicts = counts.Conflicts };
        var meta = CompiledSnapshotBuilder.Meta(purposes, regionSets.Sets);
        var header = CompiledSnapshotBuilder.Header(counts.Users, info.Rows, counts.Conflicts, counts.Collisions, info.AsOf, seed, info.Sha256, meta.Length, purposes.Count);
        var entriesOffset = CompiledSnapshotBuilder.EntriesOffset(meta.Length);
        var padding = new byte[entriesOffset - CompiledSnapshotFormat.HeaderSize - meta.Length];
        var body = entries.AsSpan(0, written);
        var checksum = new XxHash3();
        checksum.Append(header.AsSpan(0, CompiledSnapshotFormat.OffsetChecksum));
        checksum.Append(meta);
        checksum.Append(padding);
        checksum.Append(body);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetChecksum), checksum.GetCurrentHashAsUInt64());

        var length = entriesOffset + written;
        var memory = MemoryMappedFile.CreateNew(null, length, MemoryMappedFileAccess.ReadWrite);
        try
        {
            using (var stream = memory.CreateViewStream(0, length, MemoryMappedFileAccess.ReadWrite))
            {
                stream.Write(header);
                stream.Write(meta);
                stream.Write(padding);
                stream.Write(body);
            }

            return CompiledSnapshot.FromMemory(memory, length, info);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }
}
