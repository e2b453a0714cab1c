using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using ConsentFilter.IO;

namespace ConsentFilter.Consent;

/// <summary>
/// The build that keeps each user's row-merge state (format version 2), and the delta build that applies sorted changes
/// to a base file's states in one sequential pass (docs/consent-at-scale.md, "Daily deltas").
/// </summary>
/// <remarks>
/// Both go through the same loop: the merged changes (sorted by 128-bit hash, a user's rows in input order) are joined
/// with the base's states (sorted the same way; none for a full build). A user's state takes their new rows by the CSV
/// loader's rules (<see cref="UserMergeState.Add"/>), so base + changes gives what the base's rows followed by the
/// changes give: the same entries, region sets, states, counts, byte for byte (only the source SHA-256 differs).
/// </remarks>
internal sealed partial class ExternalSnapshotBuilder
{
    private const int ChunkRecords = 4096;

    private CompiledSnapshotSummary WriteWithMergeState(MergedRows merged, long rows, DateTimeOffset? asOf, DateTimeOffset? newest, string sha256, string? origin, string path)
    {
        var lists = _mergeBase?.Lists ?? new RegionLists();
        var valueMask = (ushort)(((1 << (2 * _purposes.Count)) - 1) | 0xC000);
        var rowRegionLists = new Dictionary<uint, int>();
        var regionSets = new List<string[]> { Array.Empty<string>() };
        var setOfList = new Dictionary<int, int> { [0] = 0 };
        var numberedLists = new List<string[]> { Array.Empty<string>() };
        var listNumber = new Dictionary<int, int> { [0] = 0 };
        Func<int, int> number = NumberList;
        long users = 0, states = 0, conflicts = 0, collisions = 0;
        var entriesPath = Path.Combine(_directory, "entries.bin");
        var statesPath = Path.Combine(_directory, "states.bin");
        var entryChunk = new byte[ChunkRecords * CompiledSnapshotFormat.EntrySize];
        var stateChunk = new byte[ChunkRecords * UserMergeState.RecordSize];
        int inEntryChunk = 0, inStateChunk = 0;

        using (var entries = Open(entriesPath, FileMode.CreateNew, FileAccess.Write, 1, FileOptions.None))
        using (var stateFile = Open(statesPath, FileMode.CreateNew, FileAccess.Write, 1, FileOptions.None))
        {
            var pending = false;
            ulong pendingHigh = 0;
            uint pendingLow = 0;
            (ushort Values, int Regions) pendingConsent = default;
            var haveRow = merged.MoveNext();
            var haveBase = _mergeBase?.MoveNext() ?? false;
            while (haveRow || haveBase)
            {
                var order = !haveBase ? 1 : !haveRow ? -1 : Compare(_mergeBase!.Current, merged.Current);
                UserMergeState state;
                if (order <= 0)
                {
                    state = _mergeBase!.Current;
                    haveBase = _mergeBase.MoveNext();
                }
                else
                {
                    state = new UserMergeState { High = merged.Current.High, Low = merged.Current.Low, Latest = UserMergeState.NoDatedRows };
                }

                if (order >= 0)
                {
                    do
                    {
                        ref readonly var row = ref merged.Current;
                        var values = (ushort)(row.States | ((row.Flags & RowEntry.FlagGpc) != 0 ? 1 << 14 : 0) | ((row.Flags & RowEntry.FlagMinor) != 0 ? 1 << 15 : 0));
                        state.Add(values, row.UpdatedTicks, RowRegionList(row.Region), row.Region != 0, lists);
                        haveRow = merged.MoveNext();
                    }
                    while (haveRow && merged.Current.High == state.High && merged.Current.Low == state.Low);
                }

                state.Write(stateChunk.AsSpan(inStateChunk * UserMergeState.RecordSize), number);
                states++;
                if (++inStateChunk == ChunkRecords)
                {
                    stateFile.Write(stateChunk);
                    inStateChunk = 0;
                }

                var consent = state.Resolve(lists, out var conflicted);
                consent.Values &= valueMask;
                conflicts += conflicted ? 1 : 0;
                var low = (uint)(state.Low >> 32);
                if (pending && pendingHigh == state.High && pendingLow == low)
                {
                    // Two users with the same 96 bits: one entry, merged most restrictively (fail-closed), as the other builds do.
                    collisions++;
                    pendingConsent = (RowGroupState.Strictest(pendingConsent.Values, consent.Values), lists.Union(pendingConsent.Regions, consent.Regions));
                }
                else
                {
                    if (pending)
                    {
                        Emit(pendingHigh, pendingLow, pendingConsent);
                    }

                    (pending, pendingHigh, pendingLow, pendingConsent) = (true, state.High, low, consent);
                }

                if ((states & (CancellationCheckRows - 1)) == 0)
                {
                    _cancellationToken.ThrowIfCancellationRequested();
                }
            }

            if (pending)
            {
                Emit(pendingHigh, pendingLow, pendingConsent);
            }

            entries.Write(entryChunk, 0, inEntryChunk * CompiledSnapshotFormat.EntrySize);
            stateFile.Write(stateChunk, 0, inStateChunk * UserMergeState.RecordSize);

            void Emit(ulong high, uint low, (ushort Values, int Regions) consent)
            {
                if (!setOfList.TryGetValue(consent.Regions, out var set))
                {
                    set = regionSets.Count;
                    if (set >= CompiledSnapshotFormat.MaxRegionSets)
                    {
                        throw new CompiledSnapshotBuilder.RegionSetOverflowException($"more than {CompiledSnapshotFormat.MaxRegionSets} distinct home-region sets; cannot compile");
                    }

                    regionSets.Add(lists[consent.Regions]);
                    setOfList.Add(consent.Regions, set);
                }

                CompiledSnapshotFormat.WriteEntry(entryChunk.AsSpan(inEntryChunk * CompiledSnapshotFormat.EntrySize), high, low, consent.Values | ((uint)set << 16));
                users++;
                if (++inEntryChunk == ChunkRecords)
                {
                    entries.Write(entryChunk);
                    inEntryChunk = 0;
                }
            }
        }

        // The base was read once, sequentially; only now is its checksum known: a corrupt base publishes nothing.
        _mergeBase?.VerifyChecksum();
        _cancellationToken.ThrowIfCancellationRequested();

        var allNewest = Max(_mergeBase?.Section.Newest, newest);
        var section = new MergeStateSection(states, allNewest?.UtcTicks ?? long.MinValue, [.. numberedLists]);
        var meta = CompiledSnapshotBuilder.Meta(_purposes, regionSets, origin is null ? null : CompiledSnapshotFormat.OriginSection(origin), section.ToSection());
        var allRows = rows + (_mergeBase?.Rows ?? 0);
        var source = _mergeBase is null ? sha256 : ChainSha256(_mergeBase.Sha256, sha256);
        var header = CompiledSnapshotBuilder.Header(users, allRows, conflicts, collisions, asOf ?? allNewest, _seed, source, meta.Length, _purposes.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetVersion), CompiledSnapshotFormat.MergeStateVersion);
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
            CopyInto(entriesPath, stream, checksum);
            CopyInto(statesPath, stream, checksum);
            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(CompiledSnapshotFormat.OffsetChecksum), checksum.GetCurrentHashAsUInt64());
            length = stream.Position;
            stream.Position = 0;
            stream.Write(header);
            file.Commit();
        }

        return new CompiledSnapshotSummary(path, users, allRows, conflicts, collisions, length, regionSets.Count);

        int RowRegionList(uint region)
        {
            if (!rowRegionLists.TryGetValue(region, out var list))
            {
                list = lists.Single(_regions[(int)region]);
                rowRegionLists.Add(region, list);
            }

            return list;
        }

        // Region lists are numbered in the file by first use, so the numbering depends only on the states written.
        int NumberList(int list)
        {
            if (!listNumber.TryGetValue(list, out var n))
            {
                n = numberedLists.Count;
                if (n >= UserMergeState.MaxRegionLists)
                {
                    throw new InvalidOperationException($"more than {UserMergeState.MaxRegionLists} distinct region lists in the merge state; cannot compile");
                }

                numberedLists.Add(lists[list]);
                listNumber.Add(list, n);
            }

            return n;
        }
    }

    private static int Compare(in UserMergeState state, in RowEntry row) =>
        state.High != row.High ? state.High.CompareTo(row.High) : state.Low.CompareTo(row.Low);

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;

    /// <summary>The source SHA-256 of a delta build: SHA-256 of the base's source SHA-256 followed by the changes' (32 bytes each).</summary>
    internal static string ChainSha256(string baseSha256, string changesSha256) =>
        Convert.ToHexStringLower(SHA256.HashData([.. Convert.FromHexString(baseSha256), .. Convert.FromHexString(changesSha256)]));

    private void CopyInto(string temporary, Stream stream, XxHash3 checksum)
    {
        using var source = Open(temporary, FileMode.Open, FileAccess.Read, 1, FileOptions.SequentialScan);
        var copy = new byte[1 << 20];
        int n;
        while ((n = source.Read(copy)) > 0)
        {
            checksum.Append(copy.AsSpan(0, n));
            stream.Write(copy, 0, n);
            _cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// The base of a delta build, read once from start to end: its header and metadata are checked when opened, its
    /// states are streamed in order, and its checksum is verified over the same pass before anything is published.
    /// </summary>
    internal sealed class MergeBase : IDisposable
    {
        private readonly Stream _stream;
        private readonly string _path;
        private readonly int[] _listIndex;
        private readonly XxHash3 _checksum = new();
        private readonly byte[] _buffer = new byte[ChunkRecords * UserMergeState.RecordSize];
        private readonly ulong _storedChecksum;
        private readonly Func<int, int> _mapList;
        private long _remaining;
        private int _inBuffer;
        private int _next;
        private UserMergeState _current;
        private bool _started;

        private MergeBase(Stream stream, string path, CompiledSnapshot snapshot, MergeStateSection section, ReadOnlySpan<byte> header)
        {
            _stream = stream;
            _path = path;
            Section = section;
            Seed = snapshot.Seed;
            Rows = snapshot.Info.Rows;
            Sha256 = snapshot.Info.Sha256;
            _remaining = section.Count;
            _storedChecksum = BinaryPrimitives.ReadUInt64LittleEndian(header[CompiledSnapshotFormat.OffsetChecksum..]);
            _listIndex = new int[section.Lists.Length];
            _mapList = n => (uint)n < (uint)_listIndex.Length ? _listIndex[n] : -1;
            for (var i = 0; i < _listIndex.Length; i++)
            {
                _listIndex[i] = Lists.Intern(section.Lists[i]);
            }
        }

        /// <summary>The region lists: the base's first, then those the build adds.</summary>
        internal RegionLists Lists { get; } = new();

        internal MergeStateSection Section { get; }

        internal ulong Seed { get; }

        internal long Rows { get; }

        internal string Sha256 { get; }

        internal ref readonly UserMergeState Current => ref _current;

        /// <summary>Opens <paramref name="path"/> as a base for a build of <paramref name="purposes"/>.</summary>
        /// <exception cref="DataFileException">Not a compiled snapshot, no merge state, other purposes or another hash key.</exception>
        internal static MergeBase Open(string path, IReadOnlyList<string> purposes, ulong? seed, Func<Stream, Stream>? wrap = null)
        {
            Stream stream;
            try
            {
                stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                stream = wrap?.Invoke(stream) ?? stream;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new DataFileException(path, 0, 0, $"cannot read base snapshot: {e.Message}", e);
            }

            try
            {
                using var snapshot = CompiledSnapshot.Open(path, verifyChecksum: false);
                if (snapshot.MergeState is not { } section)
                {
                    throw new DataFileException(path, 0, 0,
                        $"cannot be the base of a delta build: it holds no merge state (format version {snapshot.Version}); build it once with --mergeable");
                }

                if (!snapshot.Purposes.SequenceEqual(purposes, StringComparer.Ordinal))
                {
                    throw new DataFileException(path, 0, 0,
                        $"cannot be the base of this build: it holds purposes {string.Join(", ", snapshot.Purposes)}, the build is for {string.Join(", ", purposes)}");
                }

                if (seed is { } key && key != snapshot.Seed)
                {
                    throw new DataFileException(path, 0, 0, "cannot be the base of this build: its hash key differs from the build's");
                }

                // The stream must be the file just mapped (not one renamed over it since): same header, checksum and random key included.
                var header = new byte[CompiledSnapshotFormat.HeaderSize];
                if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) != header.Length || !header.AsSpan().SequenceEqual(snapshot.HeaderBytes))
                {
                    throw new DataFileException(path, 0, 0, "the base snapshot changed while it was opened; try again");
                }

                var result = new MergeBase(stream, path, snapshot, section, header);
                result._checksum.Append(header.AsSpan(0, CompiledSnapshotFormat.OffsetChecksum));
                result.Skip(section.Offset - CompiledSnapshotFormat.HeaderSize);
                return result;
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }

        /// <summary>Moves to the next state in hash order.</summary>
        /// <exception cref="DataFileException">The states are out of order or inconsistent (a corrupt file).</exception>
        internal bool MoveNext()
        {
            if (_next == _inBuffer)
            {
                if (_remaining == 0)
                {
                    return false;
                }

                _inBuffer = (int)Math.Min(ChunkRecords, _remaining);
                var bytes = _buffer.AsSpan(0, _inBuffer * UserMergeState.RecordSize);
                if (_stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) != bytes.Length)
                {
                    throw Corrupt("truncated");
                }

                _checksum.Append(bytes);
                _remaining -= _inBuffer;
                _next = 0;
            }

            var previous = _current;
            var state = UserMergeState.Read(_buffer.AsSpan(_next++ * UserMergeState.RecordSize, UserMergeState.RecordSize), _mapList)
                ?? throw Corrupt("inconsistent merge state");
            if (_started && (state.High < previous.High || (state.High == previous.High && state.Low <= previous.Low)))
            {
                throw Corrupt("merge states out of order");
            }

            (_current, _started) = (state, true);
            return true;
        }

        /// <summary>Reads what is left and compares the file's checksum.</summary>
        /// <exception cref="DataFileException">The checksum does not match.</exception>
        internal void VerifyChecksum()
        {
            while (MoveNext())
            {
            }

            if (_stream.ReadByte() >= 0 || _checksum.GetCurrentHashAsUInt64() != _storedChecksum)
            {
                throw Corrupt("checksum mismatch (corrupt)");
            }
        }

        public void Dispose() => _stream.Dispose();

        private void Skip(long count)
        {
            var buffer = new byte[1 << 20];
            while (count > 0)
            {
                var n = _stream.ReadAtLeast(buffer.AsSpan(0, (int)Math.Min(buffer.Length, count)), 1, throwOnEndOfStream: false);
                if (n == 0)
                {
                    throw Corrupt("truncated");
                }

                _checksum.Append(buffer.AsSpan(0, n));
                count -= n;
            }
        }

        private DataFileException Corrupt(string problem) => new(_path, 0, 0, $"base snapshot refused: {problem}");
    }
}
