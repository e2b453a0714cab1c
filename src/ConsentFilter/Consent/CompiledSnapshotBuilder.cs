using System.Buffers.Binary;
using System.IO.Hashing;
using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;
using System.Text;
using ConsentFilter.Internal;
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
    /// <exception cref="PathConflictException"><paramref name="path"/> is the consent file the snapshot was loaded from.</exception>
    public static CompiledSnapshotSummary Build(ConsentSnapshot snapshot, string path, SnapshotBucketSource? bucketSource) =>
        Build(snapshot, path, bucketSource, null);

    /// <summary>As <see cref="Build(ConsentSnapshot, string, SnapshotBucketSource?)"/>, with a given hash key (tests compare builders byte for byte).</summary>
    internal static CompiledSnapshotSummary Build(ConsentSnapshot snapshot, string path, SnapshotBucketSource? bucketSource, ulong? seed)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(snapshot.Info.Source))
        {
            PathIdentity.ThrowIfConflicting([("consent", snapshot.Info.Source)], [("snapshot", path)]);
        }

        var image = Prepare(snapshot, bucketSource, seed);
        using (var file = AtomicFile.Create(path))
        {
            image.WriteTo(file.Stream);
            file.Commit();
        }

        return new CompiledSnapshotSummary(path, image.Entries.Count, snapshot.Info.Rows, snapshot.Info.Conflicts, image.Collisions,
            image.Length, image.RegionSetCount)
        {
            BucketSource = bucketSource,
        };
    }

    /// <summary>
    /// Compiles the consent CSV at <paramref name="csvPath"/> straight into <paramref name="path"/> in bounded memory (sorted runs
    /// spilled beside the output and merged), publishing it atomically; byte for byte what loading the CSV and
    /// <see cref="Build(ConsentSnapshot, string)"/> write for the same hash key.
    /// </summary>
    /// <exception cref="DataFileException">The CSV is unreadable or invalid; nothing is published.</exception>
    public static CompiledSnapshotSummary BuildFromCsv(string csvPath, string path, IReadOnlyList<string> purposes, SnapshotBuildOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(csvPath);
        FileStream file;
        try
        {
            file = new FileStream(csvPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(csvPath, 0, 0, $"cannot read consent file: {e.Message}", e);
        }

        using (file)
        {
            // A plain file is read on every core; anything else (and every invalid file) by the sequential reader.
            options ??= new SnapshotBuildOptions();
            if (ExternalSnapshotBuilder.TryBuildFromPlainCsv(file, csvPath, purposes, path, options, cancellationToken) is { } built)
            {
                return built;
            }

            if (file.CanSeek)
            {
                file.Position = 0;
            }

            return BuildFromCsv(file, csvPath, path, purposes, options, cancellationToken);
        }
    }

    /// <summary>As <see cref="BuildFromCsv(string, string, IReadOnlyList{string}, SnapshotBuildOptions?, CancellationToken)"/>, from a stream.</summary>
    /// <exception cref="DataFileException">The CSV is invalid; nothing is published.</exception>
    internal static CompiledSnapshotSummary BuildFromCsv(Stream csv, string displayName, string path, IReadOnlyList<string> purposes,
        SnapshotBuildOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(csv);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var hashing = new HashingReadStream(csv, hash, leaveOpen: true);
        return ExternalSnapshotBuilder.Build(CsvRows.Read(hashing, displayName), displayName, purposes, () => Convert.ToHexStringLower(hash.GetHashAndReset()),
            null, path, options ?? new SnapshotBuildOptions(), nameUserInErrors: false, cancellationToken);
    }

    /// <summary>
    /// Compiles <paramref name="snapshot"/> into anonymous memory, for lookups only: the same 16-byte entries and search
    /// as a compiled file (compact, prefetchable), while <see cref="CompiledSnapshot.Info"/> still describes the source.
    /// </summary>
    /// <returns>The compiled form, or null when the snapshot does not fit the format (more home-region sets or purposes
    /// than it holds): the caller then searches the loaded form, which has no such limits.</returns>
    internal static CompiledSnapshot? CompileInMemory(ConsentSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Purposes.Count > CompiledSnapshotFormat.MaxPurposes)
        {
            return null;
        }

        Image image;
        try
        {
            image = Prepare(snapshot, null, null);
        }
        catch (RegionSetOverflowException)
        {
            return null;
        }

        var memory = MemoryMappedFile.CreateNew(null, image.Length, MemoryMappedFileAccess.ReadWrite);
        try
        {
            using (var stream = memory.CreateViewStream(0, image.Length, MemoryMappedFileAccess.ReadWrite))
            {
                image.WriteTo(stream);
            }

            return CompiledSnapshot.FromMemory(memory, image.Length, snapshot.Info);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    private static Image Prepare(ConsentSnapshot snapshot, SnapshotBucketSource? bucketSource, ulong? fixedSeed)
    {
        var purposes = snapshot.Purposes;
        if (purposes.Count > CompiledSnapshotFormat.MaxPurposes)
        {
            throw new ArgumentException($"a compiled snapshot holds at most {CompiledSnapshotFormat.MaxPurposes} purposes (got {purposes.Count})", nameof(snapshot));
        }

        var seed = fixedSeed ?? NewSeed();
        var regionSets = new RegionSetTable();

        var entries = new Entry[snapshot.Users.Count];
        var highs = new ulong[entries.Length];
        var n = 0;
        foreach (var (id, consent) in snapshot.Users)
        {
            var (high, low) = CompiledSnapshotFormat.Hash(id, seed);
            highs[n] = high;
            entries[n++] = new Entry(high, low, consent);
        }

        SortByKey(highs, entries);

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
            payloads[i] = CompiledSnapshotFormat.Payload(consent.States, purposes.Count, consent.Gpc, consent.Minor, regionSets.IndexOf(consent.HomeRegions));
        }

        var metaBytes = Meta(purposes, regionSets.Sets, bucketSource?.ToSection());
        var entriesOffset = EntriesOffset(metaBytes.Length);
        var padding = new byte[entriesOffset - CompiledSnapshotFormat.HeaderSize - metaBytes.Length];
        var fileLength = entriesOffset + ((long)unique.Count * CompiledSnapshotFormat.EntrySize);
        var header = Header(unique.Count, snapshot.Info.Rows, snapshot.Info.Conflicts, collisions, snapshot.Info.AsOf, seed, snapshot.Info.Sha256,
            metaBytes.Length, purposes.Count);

        return new Image(header, metaBytes, padding, unique, payloads, collisions, fileLength, regionSets.Sets.Count);
    }

    /// <summary>A random per-file hash key.</summary>
    internal static ulong NewSeed() => BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8));

    /// <summary>Where the entries start after a metadata block of <paramref name="metaLength"/> bytes (16-byte aligned).</summary>
    internal static long EntriesOffset(int metaLength) => Align16(CompiledSnapshotFormat.HeaderSize + metaLength);

    /// <summary>The metadata block: purposes, region sets, then optional sections.</summary>
    internal static byte[] Meta(IReadOnlyList<string> purposes, List<string[]> regionSets, params ReadOnlySpan<byte[]?> sections)
    {
        using var meta = new MemoryStream();
        WriteMeta(meta, purposes, regionSets);
        foreach (var section in sections)
        {
            if (section is not null)
            {
                meta.Write(section);
            }
        }

        return meta.ToArray();
    }

    /// <summary>The header without its checksum (written last, over everything after the header).</summary>
    internal static byte[] Header(long users, long rows, long conflicts, long collisions, DateTimeOffset? asOf, ulong seed, string sha256, int metaLength, int purposeCount)
    {
        var header = new byte[CompiledSnapshotFormat.HeaderSize];
        CompiledSnapshotFormat.Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetVersion), CompiledSnapshotFormat.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetHeaderSize), CompiledSnapshotFormat.HeaderSize);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetUsers), users);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetRows), rows);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetConflicts), conflicts);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetCollisions), collisions);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetAsOf), asOf?.ToUnixTimeMilliseconds() ?? CompiledSnapshotFormat.NoAsOf);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetSeed), seed);
        Convert.FromHexString(sha256).CopyTo(header.AsSpan(CompiledSnapshotFormat.OffsetSourceSha256));
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetMetaOffset), CompiledSnapshotFormat.HeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetMetaLength), metaLength);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetPurposeCount), purposeCount);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetEntriesOffset), EntriesOffset(metaLength));
        return header;
    }

    /// <summary>Everything a compiled snapshot holds, ready to be written.</summary>
    private sealed record Image(byte[] Header, byte[] Meta, byte[] Padding, List<Entry> Entries, uint[] Payloads, long Collisions, long Length, int RegionSetCount)
    {
        /// <summary>Writes the image from the start of <paramref name="stream"/>: header last, as it carries the checksum of everything after it.</summary>
        internal void WriteTo(Stream stream)
        {
            var checksum = new XxHash3();
            checksum.Append(Header.AsSpan(0, CompiledSnapshotFormat.OffsetChecksum));
            checksum.Append(Meta);
            checksum.Append(Padding);
            stream.Write(new byte[CompiledSnapshotFormat.HeaderSize]);
            stream.Write(Meta);
            stream.Write(Padding);
            var chunk = new byte[4096 * CompiledSnapshotFormat.EntrySize];
            for (var start = 0; start < Entries.Count; start += 4096)
            {
                var count = Math.Min(4096, Entries.Count - start);
                for (var k = 0; k < count; k++)
                {
                    var e = Entries[start + k];
                    CompiledSnapshotFormat.WriteEntry(chunk.AsSpan(k * CompiledSnapshotFormat.EntrySize), e.High, e.Low, Payloads[start + k]);
                }

                var bytes = chunk.AsSpan(0, count * CompiledSnapshotFormat.EntrySize);
                checksum.Append(bytes);
                stream.Write(bytes);
            }

            var header = (byte[])Header.Clone();
            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetChecksum), checksum.GetCurrentHashAsUInt64());
            stream.Position = 0;
            stream.Write(header);
        }
    }

    /// <summary>
    /// Sorts the entries by their 96-bit key: by the 64-bit high part with the primitive-key sort (several times faster
    /// than comparing the structs), then each run of equal high parts — vanishingly rare — by the low part.
    /// </summary>
    private static void SortByKey(ulong[] highs, Entry[] entries)
    {
        Array.Sort(highs, entries);
        for (var start = 0; start < entries.Length;)
        {
            var end = start + 1;
            while (end < entries.Length && highs[end] == highs[start])
            {
                end++;
            }

            if (end - start > 1)
            {
                Array.Sort(entries, start, end - start);
            }

            start = end;
        }
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

    internal static UserConsent MergeStrictest(UserConsent a, UserConsent b, int purposeCount) => new(
        a.States.MergeStrictest(b.States, purposeCount),
        a.Gpc || b.Gpc,
        a.Minor || b.Minor,
        [.. a.HomeRegions.Union(b.HomeRegions, StringComparer.Ordinal)]);

    /// <summary>The snapshot has more distinct home-region sets than the format's 16-bit set index holds.</summary>
    internal sealed class RegionSetOverflowException(string message) : InvalidOperationException(message);

    /// <summary>One user's hashed id and consent; ordered by the 96-bit key (the file's search order).</summary>
    private readonly record struct Entry(ulong High, uint Low, UserConsent Consent) : IComparable<Entry>
    {
        public int CompareTo(Entry other) => High != other.High ? High.CompareTo(other.High) : Low.CompareTo(other.Low);
    }

    /// <summary>The distinct home-region sets of a snapshot, numbered in the order users first use them (set 0: none).</summary>
    internal sealed class RegionSetTable
    {
        private readonly Dictionary<string[], int> _index = new(RegionSetComparer.Instance) { [[]] = 0 };

        internal List<string[]> Sets { get; } = [[]];

        /// <summary>The number of <paramref name="regions"/>' set, adding it when new.</summary>
        /// <exception cref="RegionSetOverflowException">More sets than the format's 16-bit set index holds.</exception>
        internal int IndexOf(string[] regions)
        {
            if (_index.TryGetValue(regions, out var set))
            {
                return set;
            }

            set = Sets.Count;
            if (set >= CompiledSnapshotFormat.MaxRegionSets)
            {
                throw new RegionSetOverflowException($"more than {CompiledSnapshotFormat.MaxRegionSets} distinct home-region sets; cannot compile");
            }

            Sets.Add(regions);
            _index.Add(regions, set);
            return set;
        }
    }

    /// <summary>Region lists equal element by element (ordinal): users with the same home regions share one set.</summary>
    internal sealed class RegionSetComparer : IEqualityComparer<string[]>
    {
        internal static readonly RegionSetComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) => x.AsSpan().SequenceEqual(y, StringComparer.Ordinal);

        // Region codes are a few ASCII letters: a plain polynomial hash is enough and far cheaper than the framework's
        // randomised string hash, which showed at 9 % of a 200,000-user build.
        public int GetHashCode(string[] regions)
        {
            var hash = regions.Length;
            foreach (var region in regions)
            {
                foreach (var c in region)
                {
                    hash = (hash * 31) + c;
                }

                hash = (hash * 31) + 0x2C;
            }

            return hash;
        }
    }
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
