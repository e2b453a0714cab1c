using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using ConsentFilter.Internal;
using ConsentFilter.IO;

namespace ConsentFilter.Consent;

/// <summary>
/// Builds a compiled snapshot from streamed rows in bounded memory: each row is validated, its id hashed (the file's
/// keyed hash, 128 bits kept) and stored as a fixed-size entry; full buffers are sorted and spilled as runs beside the
/// output while the next buffer fills; the runs are merged k-way and each user's rows merged by the CSV loader's rules.
/// </summary>
/// <remarks>
/// The output is byte for byte what <see cref="CompiledSnapshotBuilder.Build(ConsentSnapshot, string)"/> writes for the
/// same rows and hash key: entries come out of the merge in the file's order, a user's rows in input order (so home
/// regions keep their order), and region sets are numbered in entry order as the in-memory build numbers them.
/// Two ids with equal 128-bit hashes would merge as one user (probability about n²/2¹²⁹); equal 96-bit keys of
/// different ids are merged most restrictively and counted as collisions, as in the in-memory build.
/// </remarks>
internal sealed partial class ExternalSnapshotBuilder
{
    /// <summary>Bytes of one spilled row.</summary>
    internal static readonly int EntryBytes = Marshal.SizeOf<RowEntry>();

    /// <summary>What the budget keeps for everything but the two sort buffers (at most half the budget).</summary>
    internal const long ReserveBytes = 320L << 20;

    private const int FirstBufferRows = 1 << 16;
    private const int CancellationCheckRows = 1 << 14;

    private readonly string _displayName;
    private readonly IReadOnlyList<string> _purposes;
    private readonly string _directory;
    private readonly ulong _seed;
    private readonly int _runRows;
    private readonly Func<Stream, Stream>? _wrap;
    private readonly CancellationToken _cancellationToken;
    private readonly Dictionary<string, uint> _regionIds = new(StringComparer.Ordinal);
    private readonly List<string?> _regions;
    private string[]?[] _singleRegions = new string[]?[16];

    // The rows being gathered into runs (Append, Finish): the buffer filling, the one spilling, input positions.
    private RowEntry[] _buffer = [];
    private RowEntry[]? _spare;
    private Task? _spilling;
    private int _count;
    private long _sequence;
    private readonly List<string> _runFiles = [];
    private readonly MergeBase? _mergeBase;
    private readonly bool _keepMergeState;

    private ExternalSnapshotBuilder(string displayName, IReadOnlyList<string> purposes, string directory, SnapshotBuildOptions options, MergeBase? mergeBase,
        CancellationToken cancellationToken)
    {
        _displayName = displayName;
        _purposes = purposes;
        _directory = directory;
        _mergeBase = mergeBase;
        _keepMergeState = options.KeepMergeState || mergeBase is not null;
        _seed = mergeBase?.Seed ?? options.Seed ?? CompiledSnapshotBuilder.NewSeed();
        _wrap = options.StreamWrapper;
        _cancellationToken = cancellationToken;
        _regions = [null];
        var budget = options.CheckedBudget();
        // The runtime, the reader's strings and the garbage collector's young generation took ~240 MiB beside the
        // buffers in the 10M-user build: measured, not guessed (docs/consent-at-scale.md).
        var reserve = Math.Min(budget / 2, ReserveBytes);
        _runRows = options.RunRows ?? (int)Math.Clamp((budget - reserve) / 2 / EntryBytes, 1024, Array.MaxLength);
        _buffer = new RowEntry[Math.Min(FirstBufferRows, _runRows)];
    }

    /// <summary>Builds <paramref name="path"/> from <paramref name="rows"/> (header row first) and publishes it atomically.</summary>
    /// <param name="rows">The header row, then the data rows, as text cells.</param>
    /// <param name="displayName">The source named in errors.</param>
    /// <param name="purposes">The purposes to hold (at most seven).</param>
    /// <param name="sha256">The source's SHA-256, asked for after every row was read.</param>
    /// <param name="origin">A description of the source recorded in the file (a database, never with its password); null for a file.</param>
    /// <param name="path">The compiled snapshot to write.</param>
    /// <param name="options">Memory budget, temporary directory, as-of time.</param>
    /// <param name="nameUserInErrors">Name the user in a row's error (rows without lines a user can open).</param>
    /// <param name="cancellationToken">Stops the build; nothing is published and the temporary files are removed.</param>
    internal static CompiledSnapshotSummary Build(
        IEnumerable<CsvRows.Row> rows, string displayName, IReadOnlyList<string> purposes, Func<string> sha256, string? origin, string path,
        SnapshotBuildOptions options, bool nameUserInErrors, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return BuildWith(displayName, purposes, path, options, cancellationToken,
            (builder, full) => builder.Run(rows, sha256, origin, full, options.AsOf, nameUserInErrors))!;
    }

    /// <summary>Runs <paramref name="run"/> on a new builder with its temporary directory, removed afterwards whatever happens.</summary>
    private static CompiledSnapshotSummary? BuildWith(string displayName, IReadOnlyList<string> purposes, string path, SnapshotBuildOptions options,
        CancellationToken cancellationToken, Func<ExternalSnapshotBuilder, string, CompiledSnapshotSummary?> run)
    {
        ArgumentNullException.ThrowIfNull(purposes);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (purposes.Count is 0 or > CompiledSnapshotFormat.MaxPurposes)
        {
            throw new ArgumentException($"a compiled snapshot holds between 1 and {CompiledSnapshotFormat.MaxPurposes} purposes (got {purposes.Count})", nameof(purposes));
        }

        using var mergeBase = options.Base is null ? null : MergeBase.Open(options.Base, purposes, options.Seed, options.StreamWrapper);
        var full = Path.GetFullPath(path);
        var parent = options.TemporaryDirectory ?? Path.GetDirectoryName(full) ?? ".";
        var directory = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.build");
        Directory.CreateDirectory(directory);
        try
        {
            var builder = new ExternalSnapshotBuilder(displayName, purposes, directory, options, mergeBase, cancellationToken);
            return run(builder, full);
        }
        finally
        {
            DeleteDirectory(directory);
        }
    }

    private CompiledSnapshotSummary Run(IEnumerable<CsvRows.Row> rows, Func<string> sha256, string? origin, string path, DateTimeOffset? asOf, bool nameUserInErrors)
    {
        var parsed = new ConsentCsvLoader.ParsedRows(_displayName, _purposes, nameUserInErrors);
        var encoding = new UTF8Encoding(false, true);
        var idBytes = new byte[256];
        var stateMask = (ushort)((1 << (2 * _purposes.Count)) - 1);
        try
        {
            foreach (var row in parsed.Read(rows))
            {
                var byteCount = encoding.GetByteCount(row.UserId);
                if (byteCount > idBytes.Length)
                {
                    idBytes = new byte[Math.Max(byteCount, idBytes.Length * 2)];
                }

                encoding.GetBytes(row.UserId, idBytes);
                var hash = XxHash128.HashToUInt128(idBytes.AsSpan(0, byteCount), (long)_seed);
                var values = row.Values;
                Append(new RowEntry
                {
                    High = (ulong)(hash >> 64),
                    Low = (ulong)hash,
                    UpdatedTicks = row.UpdatedAt?.UtcTicks ?? RowEntry.Undated,
                    Region = RegionId(values.Region),
                    States = (ushort)(values.States.Bits & stateMask),
                    Flags = (byte)((values.Gpc ? RowEntry.FlagGpc : 0) | (values.Minor ? RowEntry.FlagMinor : 0)),
                });
            }

            return Finish(parsed.Rows, parsed.Newest, sha256(), origin, path, asOf);
        }
        finally
        {
            WaitForSpill();
        }
    }

    /// <summary>Adds one row, numbered in input order; a full buffer is sorted and spilled while the next one fills.</summary>
    private void Append(RowEntry entry)
    {
        if (_count == _buffer.Length)
        {
            if (_buffer.Length < _runRows && _spilling is null && _runFiles.Count == 0)
            {
                // Until the first spill the buffer grows, so a small source allocates little.
                Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, _runRows));
            }
            else
            {
                _spilling?.GetAwaiter().GetResult();
                var full = _buffer;
                var file = Path.Combine(_directory, $"run-{_runFiles.Count:D6}.bin");
                _runFiles.Add(file);
                _spilling = Task.Run(() => SortAndSpill(full, file), _cancellationToken);
                _buffer = _spare ?? new RowEntry[_runRows];
                _spare = full;
                _count = 0;
            }
        }

        entry.Sequence = _sequence++;
        _buffer[_count++] = entry;
        if ((_sequence & (CancellationCheckRows - 1)) == 0)
        {
            _cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Grows the first buffer once to hold <paramref name="expectedRows"/> (at most a run): a source whose size is known
    /// skips the doublings, each a copy of everything gathered so far into newly touched memory.
    /// </summary>
    private void Reserve(long expectedRows)
    {
        var rows = (int)Math.Min(expectedRows, _runRows);
        if (_runFiles.Count == 0 && _spilling is null && _buffer.Length < rows)
        {
            Array.Resize(ref _buffer, rows);
        }
    }

    /// <summary>Merges the spilled runs and the last buffer into <paramref name="path"/>.</summary>
    private CompiledSnapshotSummary Finish(long rows, DateTimeOffset? newest, string sha256, string? origin, string path, DateTimeOffset? asOf)
    {
        // The last buffer is merged from memory, sorted in one segment per core (each a run of the merge) while the
        // previous run finishes spilling.
        var segments = Segments(_count);
        var tail = _buffer;
        Parallel.For(0, segments.Length, new ParallelOptions { CancellationToken = _cancellationToken },
            s => Sort(tail.AsSpan(segments[s].Start, segments[s].Length)));
        _spilling?.GetAwaiter().GetResult();
        _spilling = null;
        _cancellationToken.ThrowIfCancellationRequested();
        return Merge([.. segments.Select(s => tail.AsMemory(s.Start, s.Length))], _spare, rows, asOf, newest, sha256, origin, path);
    }

    /// <summary>On failure, lets a spill in flight finish before its directory is removed; its error is secondary.</summary>
    private void WaitForSpill()
    {
        try
        {
            _spilling?.Wait(CancellationToken.None);
        }
        catch (Exception)
        {
        }
    }

    /// <summary>Splits <paramref name="count"/> entries into one segment per core (one segment when few).</summary>
    private static (int Start, int Length)[] Segments(int count)
    {
        var parts = count < (1 << 16) ? 1 : Math.Max(1, Environment.ProcessorCount);
        var result = new (int Start, int Length)[parts];
        for (var p = 0; p < parts; p++)
        {
            var start = (int)((long)count * p / parts);
            result[p] = (start, (int)((long)count * (p + 1) / parts) - start);
        }

        return result;
    }

    private uint RegionId(string? region)
    {
        if (region is null)
        {
            return 0;
        }

        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(_regionIds, region, out var exists);
        if (!exists)
        {
            id = (uint)_regions.Count;
            _regions.Add(region);
        }

        return id;
    }

    private void SortAndSpill(RowEntry[] buffer, string file)
    {
        Sort(buffer);
        using var stream = Open(file, FileMode.CreateNew, FileAccess.Write, 1 << 20, FileOptions.None);
        stream.Write(MemoryMarshal.AsBytes(buffer.AsSpan()));
    }

    private Stream Open(string path, FileMode mode, FileAccess access, int bufferSize, FileOptions options)
    {
        var stream = new FileStream(path, mode, access, FileShare.None, bufferSize, options);
        return _wrap?.Invoke(stream) ?? stream;
    }

    /// <summary>Sorts into merge order through <see cref="RowEntry.CompareTo"/>: the runtime's sort of an <see cref="IComparable{T}"/> struct calls it directly, where a comparer is called through an interface (twice the cost, measured).</summary>
    internal static void Sort(Span<RowEntry> entries) => entries.Sort();

    private CompiledSnapshotSummary Merge(ReadOnlyMemory<RowEntry>[] tail, RowEntry[]? spare, long rows, DateTimeOffset? asOf, DateTimeOffset? newest, string sha256,
        string? origin, string path)
    {
        var sources = new List<IRun>(_runFiles.Count + 1);
        try
        {
            if (_runFiles.Count > 0)
            {
                // The spare buffer becomes the runs' read buffers: the merge holds no more than the spill did.
                spare ??= new RowEntry[_runRows];
                var slice = Math.Max(1, spare.Length / _runFiles.Count);
                for (var r = 0; r < _runFiles.Count; r++)
                {
                    var memory = slice * (r + 1) <= spare.Length ? spare.AsMemory(slice * r, slice) : new RowEntry[slice];
                    sources.Add(new FileRun(_runFiles[r], Open(_runFiles[r], FileMode.Open, FileAccess.Read, 1, FileOptions.SequentialScan), memory));
                }
            }

            foreach (var segment in tail)
            {
                sources.Add(new MemoryRun(segment));
            }
            // With merge state (and always on top of a base) the users are resolved from their states: MergeState.cs.
            return _keepMergeState
                ? WriteWithMergeState(new MergedRows(sources), rows, asOf, newest, sha256, origin, path)
                : WriteSnapshot(new MergedRows(sources), rows, asOf ?? newest, sha256, origin, path);
        }
        finally
        {
            foreach (var source in sources)
            {
                (source as IDisposable)?.Dispose();
            }
        }
    }

    /// <summary>Merges each user's rows, then writes the entries to a temporary file and the snapshot around them.</summary>
    private CompiledSnapshotSummary WriteSnapshot(MergedRows merged, long rows, DateTimeOffset? asOf, string sha256, string? origin, string path)
    {
        var regionSets = new CompiledSnapshotBuilder.RegionSetTable();
        var entriesPath = Path.Combine(_directory, "entries.bin");
        var chunk = new byte[4096 * CompiledSnapshotFormat.EntrySize];
        var inChunk = 0;
        UserCounts counts;
        using (var entries = Open(entriesPath, FileMode.CreateNew, FileAccess.Write, 1, FileOptions.None))
        {
            counts = MergeUsers(merged, regionSets, (high, low, payload) =>
            {
                CompiledSnapshotFormat.WriteEntry(chunk.AsSpan(inChunk * CompiledSnapshotFormat.EntrySize), high, low, payload);
                if (++inChunk == 4096)
                {
                    entries.Write(chunk);
                    inChunk = 0;
                }
            });
            entries.Write(chunk, 0, inChunk * CompiledSnapshotFormat.EntrySize);
        }

        _cancellationToken.ThrowIfCancellationRequested();
        var meta = CompiledSnapshotBuilder.Meta(_purposes, regionSets.Sets, origin is null ? null : CompiledSnapshotFormat.OriginSection(origin));
        var header = CompiledSnapshotBuilder.Header(counts.Users, rows, counts.Conflicts, counts.Collisions, asOf, _seed, sha256, meta.Length, _purposes.Count);
        var padding = new byte[CompiledSnapshotBuilder.EntriesOffset(meta.Length) - CompiledSnapshotFormat.HeaderSize - meta.Length];
        long length;
        using (var file = AtomicFile.Create(path))
        {
            var checksum = new XxHash3();
            checksum.Append(header.AsSpan(0, CompiledSnapshotFormat.OffsetChecksum));
            checksum.Append(meta);
            checksum.Append(padding);
            // Not disposed here: the atomic file owns its stream (a wrapper only counts and fails calls).
            var stream = _wrap?.Invoke(file.Stream) ?? file.Stream;
            stream.Write(new byte[CompiledSnapshotFormat.HeaderSize]);
            stream.Write(meta);
            stream.Write(padding);
            using (var entries = Open(entriesPath, FileMode.Open, FileAccess.Read, 1, FileOptions.SequentialScan))
            {
                var copy = new byte[1 << 20];
                int n;
                while ((n = entries.Read(copy)) > 0)
                {
                    checksum.Append(copy.AsSpan(0, n));
                    stream.Write(copy, 0, n);
                    _cancellationToken.ThrowIfCancellationRequested();
                }
            }

            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetChecksum), checksum.GetCurrentHashAsUInt64());
            length = stream.Position;
            stream.Position = 0;
            stream.Write(header);
            file.Commit();
        }

        return new CompiledSnapshotSummary(path, counts.Users, rows, counts.Conflicts, counts.Collisions, length, regionSets.Sets.Count);
    }

    /// <summary>
    /// Merges each user's rows by the CSV loader's rules, then users whose 96-bit keys collide most restrictively, and
    /// hands each entry (high, low, payload) to <paramref name="emit"/> in the file's order.
    /// </summary>
    private UserCounts MergeUsers(MergedRows merged, CompiledSnapshotBuilder.RegionSetTable regionSets, Action<ulong, uint, uint> emit)
    {
        var purposeCount = _purposes.Count;
        long users = 0;
        long conflicts = 0;
        long collisions = 0;
        var pending = false;
        ulong pendingHigh = 0;
        uint pendingLow = 0;
        UserConsent pendingConsent = default;
        var haveRow = merged.MoveNext();
        long groups = 0;
        while (haveRow)
        {
            var first = merged.Current;
            haveRow = merged.MoveNext();
            UserConsent consent;
            if (!haveRow || merged.Current.High != first.High || merged.Current.Low != first.Low)
            {
                // One row, as most users have: its values are the user's, as the accumulator would resolve them.
                consent = SingleRow(first);
            }
            else
            {
                var accumulator = new ConsentCsvLoader.UserAccumulator();
                Add(accumulator, first);
                do
                {
                    Add(accumulator, merged.Current);
                    haveRow = merged.MoveNext();
                }
                while (haveRow && merged.Current.High == first.High && merged.Current.Low == first.Low);

                consent = accumulator.Resolve(purposeCount, out var conflicted);
                conflicts += conflicted ? 1 : 0;
            }

            groups++;
            var low = (uint)(first.Low >> 32);
            if (pending && pendingHigh == first.High && pendingLow == low)
            {
                collisions++;
                pendingConsent = CompiledSnapshotBuilder.MergeStrictest(pendingConsent, consent, purposeCount);
            }
            else
            {
                if (pending)
                {
                    Emit(pendingHigh, pendingLow, pendingConsent);
                }

                (pending, pendingHigh, pendingLow, pendingConsent) = (true, first.High, low, consent);
            }

            if ((groups & (CancellationCheckRows - 1)) == 0)
            {
                _cancellationToken.ThrowIfCancellationRequested();
            }
        }

        if (pending)
        {
            Emit(pendingHigh, pendingLow, pendingConsent);
        }

        return new UserCounts(users, groups, conflicts, collisions);

        void Emit(ulong high, uint low, UserConsent consent)
        {
            emit(high, low, CompiledSnapshotFormat.Payload(consent.States, purposeCount, consent.Gpc, consent.Minor, regionSets.IndexOf(consent.HomeRegions)));
            users++;
        }
    }

    /// <summary>What merging found: entries written, distinct ids (by 128-bit hash), users with conflicting rows, 96-bit collisions.</summary>
    private readonly record struct UserCounts(long Users, long Ids, long Conflicts, long Collisions);

    private void Add(ConsentCsvLoader.UserAccumulator accumulator, in RowEntry entry) =>
        accumulator.Add(Values(entry), entry.UpdatedTicks == RowEntry.Undated ? null : new DateTimeOffset(entry.UpdatedTicks, TimeSpan.Zero));

    /// <summary>The consent of a user with one row (no accumulator, and one home-region array per region shared by all such users).</summary>
    private UserConsent SingleRow(in RowEntry entry)
    {
        var values = Values(entry);
        var region = (int)entry.Region;
        if (region >= _singleRegions.Length)
        {
            Array.Resize(ref _singleRegions, Math.Max(region + 1, _singleRegions.Length * 2));
        }

        var homeRegions = _singleRegions[region] ??= values.Region is null ? [] : [values.Region];
        return new UserConsent(values.States, values.Gpc, values.Minor, homeRegions);
    }

    private ConsentCsvLoader.RowValues Values(in RowEntry entry)
    {
        var mask = (1UL << (2 * _purposes.Count)) - 1;
        var states = new PurposeStates((PurposeStates.AllUnset.Bits & ~mask) | entry.States);
        return new ConsentCsvLoader.RowValues(states, (entry.Flags & RowEntry.FlagGpc) != 0, (entry.Flags & RowEntry.FlagMinor) != 0, _regions[(int)entry.Region]);
    }

    private static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the directory is hidden and named after the output, so a leftover is recognisable.
        }
    }

    /// <summary>One row as spilled: the id's 128-bit keyed hash, its input position and its values (40 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct RowEntry : IComparable<RowEntry>
    {
        internal const long Undated = long.MinValue;
        internal const byte FlagGpc = 1;
        internal const byte FlagMinor = 2;

        public ulong High;
        public ulong Low;
        public long Sequence;
        public long UpdatedTicks;
        public uint Region;
        public ushort States;
        public byte Flags;

        /// <summary>The merge order: hash, then input position (a user's rows in the order they were read).</summary>
        public readonly int CompareTo(RowEntry other) =>
            High != other.High ? High.CompareTo(other.High)
            : Low != other.Low ? Low.CompareTo(other.Low)
            : Sequence.CompareTo(other.Sequence);
    }

    /// <summary>The merge order: hash, then input position (a user's rows in the order they were read).</summary>
    private readonly struct RowEntryComparer : IComparer<RowEntry>
    {
        public int Compare(RowEntry x, RowEntry y) => x.CompareTo(y);
    }

    /// <summary>A sorted run being merged.</summary>
    private interface IRun
    {
        ref readonly RowEntry Current { get; }

        bool MoveNext();
    }

    private sealed class MemoryRun(ReadOnlyMemory<RowEntry> entries) : IRun
    {
        private int _index = -1;

        public ref readonly RowEntry Current => ref entries.Span[_index];

        public bool MoveNext() => ++_index < entries.Length;
    }

    private sealed class FileRun(string path, Stream stream, Memory<RowEntry> buffer) : IRun, IDisposable
    {
        private readonly Stream _stream = stream;
        private int _index;
        private int _count;

        public ref readonly RowEntry Current => ref buffer.Span[_index];

        public bool MoveNext()
        {
            if (++_index < _count)
            {
                return true;
            }

            var bytes = MemoryMarshal.AsBytes(buffer.Span);
            var read = _stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            if (read % EntryBytes != 0)
            {
                throw new IOException($"temporary run {path} is truncated");
            }

            _count = read / EntryBytes;
            _index = 0;
            return _count > 0;
        }

        public void Dispose() => _stream.Dispose();
    }

    /// <summary>The k-way merge of the runs, by a binary heap of run indices.</summary>
    private sealed class MergedRows
    {
        private readonly IRun[] _heap;
        private int _size;
        private bool _started;

        public MergedRows(List<IRun> runs)
        {
            _heap = new IRun[runs.Count];
            foreach (var run in runs)
            {
                if (run.MoveNext())
                {
                    _heap[_size++] = run;
                }
            }

            for (var i = (_size / 2) - 1; i >= 0; i--)
            {
                SiftDown(i);
            }
        }

        public ref readonly RowEntry Current => ref _heap[0].Current;

        public bool MoveNext()
        {
            if (!_started)
            {
                _started = true;
                return _size > 0;
            }

            if (!_heap[0].MoveNext())
            {
                _heap[0] = _heap[--_size];
                _heap[_size] = null!;
            }

            if (_size == 0)
            {
                return false;
            }

            SiftDown(0);
            return true;
        }

        private void SiftDown(int i)
        {
            var comparer = default(RowEntryComparer);
            while (true)
            {
                var left = (2 * i) + 1;
                if (left >= _size)
                {
                    return;
                }

                var child = left + 1 < _size && comparer.Compare(_heap[left + 1].Current, _heap[left].Current) < 0 ? left + 1 : left;
                if (comparer.Compare(_heap[child].Current, _heap[i].Current) >= 0)
                {
                    return;
                }

                (_heap[i], _heap[child]) = (_heap[child], _heap[i]);
                i = child;
            }
        }
    }
}
