using System.Buffers.Binary;
using System.IO.Hashing;
using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Text;

namespace ConsentFilter.Consent;

/// <summary>A compiled consent snapshot, memory-mapped: opening reads the header, never parses the users.</summary>
/// <remarks>
/// Lookups hash the id (96 bits kept) and search the sorted entries by interpolation (hashes are uniform), falling back
/// to bisection; memory is 16 bytes per user, shared between processes that map the same file.
/// Decisions are identical to the CSV form the file was built from (see the equivalence tests).
/// </remarks>
public sealed unsafe partial class CompiledSnapshot : IConsentSnapshot, IDisposable, ILookupPrefetch
{
    /// <summary>Interpolation probes before a lookup falls back to bisection.</summary>
    private const int InterpolationSteps = 6;

    /// <summary>Entries either side of the expected second probe that a prefetch warms (5 cache lines in all).</summary>
    private const int PrefetchRadius = 8;

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly byte* _entries;
    private readonly long _count;
    private readonly ulong _seed;
    private readonly string[][] _regionSets;
    private readonly int _purposeCount;
    private bool _disposed;
    private string? _deleteOnDispose;

    private CompiledSnapshot(MemoryMappedFile file, MemoryMappedViewAccessor view, byte* basePointer, string path, long length)
    {
        _file = file;
        _view = view;
        _base = basePointer;
        var header = new ReadOnlySpan<byte>(basePointer, CompiledSnapshotFormat.HeaderSize);
        _count = BinaryPrimitives.ReadInt64LittleEndian(header[CompiledSnapshotFormat.OffsetUsers..]);
        _seed = BinaryPrimitives.ReadUInt64LittleEndian(header[CompiledSnapshotFormat.OffsetSeed..]);
        _purposeCount = BinaryPrimitives.ReadInt32LittleEndian(header[CompiledSnapshotFormat.OffsetPurposeCount..]);
        var metaOffset = BinaryPrimitives.ReadInt64LittleEndian(header[CompiledSnapshotFormat.OffsetMetaOffset..]);
        var metaLength = BinaryPrimitives.ReadInt32LittleEndian(header[CompiledSnapshotFormat.OffsetMetaLength..]);
        var entriesOffset = BinaryPrimitives.ReadInt64LittleEndian(header[CompiledSnapshotFormat.OffsetEntriesOffset..]);
        Version = BinaryPrimitives.ReadUInt32LittleEndian(header[CompiledSnapshotFormat.OffsetVersion..]);
        if (_count < 0 || _count > length / CompiledSnapshotFormat.EntrySize || _purposeCount is < 1 or > CompiledSnapshotFormat.MaxPurposes
            || metaOffset != CompiledSnapshotFormat.HeaderSize || metaLength < 0 || entriesOffset < metaOffset + metaLength || entriesOffset > length)
        {
            throw Corrupt(path, "header fields do not match the file's size (truncated or corrupt)");
        }

        _entries = basePointer + entriesOffset;
        (Purposes, _regionSets, var metaEnd) = ReadMeta(new ReadOnlySpan<byte>(basePointer + metaOffset, metaLength), _purposeCount, path);
        BucketSource = ReadSections(new ReadOnlySpan<byte>(basePointer + metaOffset, metaLength), metaEnd, path, out var origin, out var mergeState);
        Origin = origin;
        var entriesEnd = entriesOffset + (_count * CompiledSnapshotFormat.EntrySize);
        MergeState = mergeState is null ? null : mergeState with { Offset = entriesEnd };
        if ((mergeState is null) != (Version == CompiledSnapshotFormat.Version)
            || entriesEnd + ((mergeState?.Count ?? 0) * UserMergeState.RecordSize) != length)
        {
            throw Corrupt(path, "header fields do not match the file's size (truncated or corrupt)");
        }
        var asOf = BinaryPrimitives.ReadInt64LittleEndian(header[CompiledSnapshotFormat.OffsetAsOf..]);
        Collisions = BinaryPrimitives.ReadInt64LittleEndian(header[CompiledSnapshotFormat.OffsetCollisions..]);
        FileBytes = length;
        Info = new SnapshotInfo(
            origin ?? path,
            Convert.ToHexStringLower(header.Slice(CompiledSnapshotFormat.OffsetSourceSha256, 32)),
            _count,
            BinaryPrimitives.ReadInt64LittleEndian(header[CompiledSnapshotFormat.OffsetRows..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[CompiledSnapshotFormat.OffsetConflicts..]),
            asOf == CompiledSnapshotFormat.NoAsOf ? null : DateTimeOffset.FromUnixTimeMilliseconds(asOf))
        {
            Form = SnapshotForm.Compiled,
        };
    }

    /// <inheritdoc />
    /// <remarks><see cref="SnapshotInfo.Sha256"/> is the SHA-256 of the consent CSV the file was built from.</remarks>
    public SnapshotInfo Info { get; private set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Purposes { get; }

    /// <summary>What the snapshot was read from when that was not a file (a database query, without its password); null otherwise.</summary>
    /// <remarks>When set, it is also <see cref="SnapshotInfo.Source"/>, so reports name the database rather than a file.</remarks>
    public string? Origin { get; }

    /// <summary>Hash collisions among the snapshot's own ids found at build time (merged most restrictively).</summary>
    public long Collisions { get; }

    /// <summary>Size of the file in bytes.</summary>
    public long FileBytes { get; }

    /// <summary>The most purposes one compiled snapshot holds (two bits each in a 32-bit entry payload).</summary>
    public static int MaxPurposes => CompiledSnapshotFormat.MaxPurposes;

    /// <summary>The binary format version this library writes for a file without merge state (it also reads version 2, with it).</summary>
    public static uint FormatVersion => CompiledSnapshotFormat.Version;

    /// <summary>This file's format version: 1, or 2 when it holds each user's row-merge state (<see cref="HasMergeState"/>).</summary>
    public uint Version { get; }

    /// <summary>Whether the file starts with the compiled-snapshot signature.</summary>
    public static bool IsCompiled(string path)
    {
        Span<byte> magic = stackalloc byte[8];
        using var file = File.OpenRead(path);
        return file.ReadAtLeast(magic, 8, throwOnEndOfStream: false) == 8 && magic.SequenceEqual(CompiledSnapshotFormat.Magic);
    }

    /// <summary>A snapshot over an image just written to anonymous memory (see <c>CompiledSnapshotBuilder.CompileInMemory</c>).</summary>
    /// <param name="memory">The mapping; owned by the snapshot from now on.</param>
    /// <param name="length">The image's length.</param>
    /// <param name="source">What the image was compiled from; reported as this snapshot's <see cref="Info"/>.</param>
    internal static CompiledSnapshot FromMemory(MemoryMappedFile memory, long length, SnapshotInfo source)
    {
        MemoryMappedViewAccessor? view = null;
        byte* pointer = null;
        try
        {
            view = memory.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointer += view.PointerOffset;
            return new CompiledSnapshot(memory, view, pointer, source.Source, length) { Info = source };
        }
        catch
        {
            if (pointer != null)
            {
                view!.SafeMemoryMappedViewHandle.ReleasePointer();
            }

            view?.Dispose();
            throw;
        }
    }

    /// <summary>Maps a compiled snapshot.</summary>
    /// <param name="path">The file.</param>
    /// <param name="verifyChecksum">
    /// Hash the whole file against the header's checksum before use (default). Reading the file once costs about as much
    /// as hashing it (GB/s); skip only for a file already verified, to open in constant time.
    /// </param>
    /// <exception cref="DataFileException">Not a snapshot, another format version, truncated or corrupt.</exception>
    public static CompiledSnapshot Open(string path, bool verifyChecksum = true)
    {
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, 0, 0, $"cannot read snapshot: {e.Message}", e);
        }

        if (length < CompiledSnapshotFormat.HeaderSize)
        {
            // A small CSV given where a snapshot belongs is named as such, not as a truncated snapshot.
            throw Corrupt(path, IsCompiled(path) ? "shorter than the header (truncated)" : "not a compiled consent snapshot (bad signature)");
        }

        MemoryMappedFile? file = null;
        MemoryMappedViewAccessor? view = null;
        byte* pointer = null;
        try
        {
            file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointer += view.PointerOffset;
            var header = new ReadOnlySpan<byte>(pointer, CompiledSnapshotFormat.HeaderSize);
            if (!header[..8].SequenceEqual(CompiledSnapshotFormat.Magic))
            {
                throw Corrupt(path, "not a compiled consent snapshot (bad signature)");
            }

            var version = BinaryPrimitives.ReadUInt32LittleEndian(header[CompiledSnapshotFormat.OffsetVersion..]);
            if (version is not (CompiledSnapshotFormat.Version or CompiledSnapshotFormat.MergeStateVersion))
            {
                throw Corrupt(path, $"format version {version} is not supported (this library reads versions {CompiledSnapshotFormat.Version} and {CompiledSnapshotFormat.MergeStateVersion})");
            }

            if (verifyChecksum && !ChecksumMatches(pointer, length))
            {
                throw Corrupt(path, "checksum mismatch (corrupt)");
            }

            var snapshot = new CompiledSnapshot(file, view, pointer, path, length);
            if (verifyChecksum)
            {
                snapshot.ValidateEntries(path);
            }

            return snapshot;
        }
        catch (Exception e)
        {
            if (pointer != null)
            {
                view!.SafeMemoryMappedViewHandle.ReleasePointer();
            }

            view?.Dispose();
            file?.Dispose();
            if (e is IOException or UnauthorizedAccessException)
            {
                throw new DataFileException(path, 0, 0, $"cannot map snapshot: {e.Message}", e);
            }

            throw;
        }
    }

    /// <inheritdoc />
    public bool TryGetUser(ReadOnlySpan<byte> userId, out UserConsent consent)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var (high, low) = CompiledSnapshotFormat.Hash(userId, _seed);
        var index = Find(high, low);
        if (index < 0)
        {
            consent = default;
            return false;
        }

        var payload = Unsafe.ReadUnaligned<uint>(_entries + (index * CompiledSnapshotFormat.EntrySize) + 12);
        var set = CompiledSnapshotFormat.RegionSet(payload);
        consent = new UserConsent(
            CompiledSnapshotFormat.States(payload, _purposeCount),
            CompiledSnapshotFormat.Gpc(payload),
            CompiledSnapshotFormat.Minor(payload),
            (uint)set < (uint)_regionSets.Length ? _regionSets[set] : throw new InvalidDataException($"{Info.Source}: region set {set} out of range"));
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        if (_deleteOnDispose is { } path)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>Describes the snapshot by <paramref name="source"/> (a copy it was compiled from stands for the source the user named).</summary>
    internal void Relabel(SnapshotInfo source) => Info = source;

    /// <summary>
    /// Maps a snapshot just compiled into a temporary file from <paramref name="source"/>: the file is deleted at once where the
    /// platform allows it while mapped (Linux), else when the snapshot is disposed; <see cref="Info"/> names the source.
    /// </summary>
    internal static CompiledSnapshot OpenTemporary(string path, SnapshotInfo source)
    {
        var snapshot = Open(path, verifyChecksum: false);
        snapshot.Info = source;
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            snapshot._deleteOnDispose = path;
        }

        return snapshot;
    }

    /// <inheritdoc/>
    LookupHint ILookupPrefetch.Begin(ReadOnlySpan<byte> userId)
    {
        if (_disposed || _count == 0)
        {
            return default;
        }

        var (high, _) = CompiledSnapshotFormat.Hash(userId, _seed);
        var position = (long)Math.BigMul(high, (ulong)_count, out _);
        Prefetch(position);
        return new LookupHint(high, position, true);
    }

    /// <inheritdoc/>
    void ILookupPrefetch.Continue(in LookupHint hint)
    {
        if (!hint.IsValid || _disposed)
        {
            return;
        }

        // Where Find's second probe goes; its third and later probes usually land within a few entries of it.
        var k = High(hint.Position);
        var step = (long)Math.BigMul(k < hint.High ? hint.High - k : k - hint.High, (ulong)_count, out _) + 1;
        var second = k < hint.High ? hint.Position + step : hint.Position - step;
        for (var i = second - PrefetchRadius; i <= second + PrefetchRadius; i += 64 / CompiledSnapshotFormat.EntrySize)
        {
            Prefetch(i);
        }
    }

    private void Prefetch(long index)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported && (ulong)index < (ulong)_count)
        {
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(_entries + (index * CompiledSnapshotFormat.EntrySize));
        }
    }

    private ulong High(long i) => BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(_entries + (i * CompiledSnapshotFormat.EntrySize), 8));

    private uint Low(long i) => BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(_entries + (i * CompiledSnapshotFormat.EntrySize) + 8, 4));

    /// <summary>Finds the entry with this hash: interpolation on the uniform 64-bit high part, then bisection.</summary>
    /// <remarks>
    /// Each probe is a likely cache (and TLB) miss once the streamed corpus has evicted the snapshot, so the number of
    /// probes is what a lookup costs. The first probe goes where a uniform hash is expected (<c>high × count / 2⁶⁴</c>);
    /// each next one moves by the local estimate of the remaining distance (<c>Δhash × count / 2⁶⁴</c>), whose error
    /// shrinks roughly to its square root per step, so two or three probes usually land on the entry. The bracket
    /// <c>[lo, hi]</c> always holds the entry if present and shrinks every step, so the search ends whatever the file
    /// holds; after a few steps without converging it bisects (logarithmic worst case).
    /// </remarks>
    private long Find(ulong high, uint low)
    {
        long lo = 0, hi = _count - 1;
        if (hi < 0)
        {
            return -1;
        }

        var count = (ulong)_count;
        var pos = (long)Math.BigMul(high, count, out _);
        for (var steps = 0; lo <= hi; steps++)
        {
            pos = steps < InterpolationSteps ? Math.Clamp(pos, lo, hi) : lo + ((hi - lo) >> 1);
            var k = High(pos);
            if (k == high)
            {
                var l = Low(pos);
                if (l == low)
                {
                    return pos;
                }

                // Same high part, different low part: vanishingly rare; the bracket narrows by one and bisection follows.
                if (l < low)
                {
                    lo = pos + 1;
                }
                else
                {
                    hi = pos - 1;
                }

                steps = InterpolationSteps;
                continue;
            }

            if (k < high)
            {
                lo = pos + 1;
                pos += (long)Math.BigMul(high - k, count, out _) + 1;
            }
            else
            {
                hi = pos - 1;
                pos -= (long)Math.BigMul(k - high, count, out _) + 1;
            }
        }

        return -1;
    }

    /// <summary>
    /// Every entry's payload means something: a consent code per purpose that is granted, unset or denied (never the
    /// unused fourth value) and a region set the file holds.
    /// </summary>
    /// <remarks>
    /// A checksum proves the file is what its writer wrote, not that the writer wrote sense (a bug, or a file edited and
    /// re-checksummed). An undefined consent code would be neither denied nor unset, and pass in an opt-out region. Run
    /// with the checksum, so a verified open reads the entries once more (a few ms per million users).
    /// </remarks>
    private void ValidateEntries(string path)
    {
        uint undefinedCodes = 0;
        for (var p = 0; p < _purposeCount; p++)
        {
            undefinedCodes |= 0b11u << (p * 2);
        }

        for (long i = 0; i < _count; i++)
        {
            var payload = Unsafe.ReadUnaligned<uint>(_entries + (i * CompiledSnapshotFormat.EntrySize) + 12);
            // A code is undefined where both of its bits are set: the low bit of each pair ANDed with the high bit.
            var bothSet = payload & (payload >> 1) & 0x1555u & undefinedCodes;
            if (bothSet != 0 || CompiledSnapshotFormat.RegionSet(payload) >= _regionSets.Length)
            {
                throw Corrupt(path, $"entry {i} holds {(bothSet != 0 ? "an undefined consent code" : "a region set the file does not have")} (corrupt)");
            }
        }
    }

    private static bool ChecksumMatches(byte* pointer, long length)
    {
        var checksum = new XxHash3();
        checksum.Append(new ReadOnlySpan<byte>(pointer, CompiledSnapshotFormat.OffsetChecksum));
        for (long offset = CompiledSnapshotFormat.HeaderSize; offset < length; offset += 1 << 30)
        {
            checksum.Append(new ReadOnlySpan<byte>(pointer + offset, (int)Math.Min(1 << 30, length - offset)));
        }

        var stored = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(pointer + CompiledSnapshotFormat.OffsetChecksum, 8));
        return checksum.GetCurrentHashAsUInt64() == stored;
    }

    private static (string[] Purposes, string[][] RegionSets, int End) ReadMeta(ReadOnlySpan<byte> meta, int purposeCount, string path)
    {
        try
        {
            var position = 0;
            var purposes = new string[purposeCount];
            for (var p = 0; p < purposeCount; p++)
            {
                purposes[p] = ReadString(meta, ref position);
            }

            var setCount = BinaryPrimitives.ReadInt32LittleEndian(meta[position..]);
            position += 4;
            if (setCount is < 1 or > CompiledSnapshotFormat.MaxRegionSets)
            {
                throw Corrupt(path, "bad region-set count");
            }

            var sets = new string[setCount][];
            for (var s = 0; s < setCount; s++)
            {
                var n = BinaryPrimitives.ReadUInt16LittleEndian(meta[position..]);
                position += 2;
                sets[s] = new string[n];
                for (var r = 0; r < n; r++)
                {
                    sets[s][r] = ReadString(meta, ref position);
                }
            }

            return (purposes, sets, position);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw Corrupt(path, "metadata block is truncated");
        }
    }

    private static string ReadString(ReadOnlySpan<byte> meta, ref int position)
    {
        var length = BinaryPrimitives.ReadUInt16LittleEndian(meta[position..]);
        position += 2;
        var value = Encoding.UTF8.GetString(meta.Slice(position, length));
        position += length;
        return value;
    }

    private static DataFileException Corrupt(string path, string problem) => new(path, 0, 0, $"compiled snapshot refused: {problem}");
}
