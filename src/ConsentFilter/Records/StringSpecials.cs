using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ConsentFilter.Records;

/// <summary>
/// A bitmap of a line's bytes that end a run of plain string bytes — <c>"</c>, <c>\</c> and the control characters
/// below U+0020 — one bit a byte, 64 bytes a word, marked in one vector pass before the line is scanned.
/// </summary>
/// <remarks>
/// The scanner asks "where is the next such byte?" once per string and once more per escape, tens of times a record;
/// a search from scratch each time (<c>SearchValues.IndexOfAny</c>) paid its set-up on every short key and id, a
/// bitmap lookup is a shift and a count of trailing zeros. The bitmap marks exactly the bytes of the search's set
/// (tests compare the two at every offset), so the scanner's verdicts cannot change.
/// </remarks>
internal ref struct StringSpecials
{
    private readonly ReadOnlySpan<ulong> _bits;

    private StringSpecials(ReadOnlySpan<ulong> bits) => _bits = bits;

    /// <summary>Marks <paramref name="line"/> into <paramref name="scratch"/> (grown as needed; one buffer per worker).</summary>
    internal static StringSpecials Mark(ReadOnlySpan<byte> line, ref ulong[]? scratch)
    {
        var words = (line.Length + 63) >> 6;
        if (scratch is null || scratch.Length < words)
        {
            scratch = new ulong[Math.Max(words, 256)];
        }

        var bits = scratch.AsSpan(0, words);
        ref var start = ref MemoryMarshal.GetReference(line);
        var full = line.Length >> 6;
        for (var w = 0; w < full; w++)
        {
            bits[w] = Block(ref Unsafe.Add(ref start, w << 6));
        }

        if (full < words)
        {
            // The last partial block, padded with a byte outside the set.
            Span<byte> tail = stackalloc byte[64];
            tail.Fill((byte)'a');
            line[(full << 6)..].CopyTo(tail);
            bits[full] = Block(ref MemoryMarshal.GetReference(tail));
        }

        return new StringSpecials(bits);
    }

    /// <summary>The index of the first marked byte at or after <paramref name="i"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly int NextFrom(int i)
    {
        var w = i >> 6;
        if ((uint)w >= (uint)_bits.Length)
        {
            return -1;
        }

        var word = _bits[w] >> (i & 63);
        return word != 0 ? i + BitOperations.TrailingZeroCount(word) : NextAfterWord(w);
    }

    private readonly int NextAfterWord(int w)
    {
        for (w++; w < _bits.Length; w++)
        {
            if (_bits[w] != 0)
            {
                return (w << 6) + BitOperations.TrailingZeroCount(_bits[w]);
            }
        }

        return -1;
    }

    /// <summary>The marks of 64 bytes starting at <paramref name="at"/>, bit k for byte k, at the widest vector this CPU has.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Block(ref byte at) =>
        Vector512.IsHardwareAccelerated ? Block512(ref at)
        : Vector256.IsHardwareAccelerated ? Block256(ref at)
        : Block128(ref at);

    // One form per width, each tested against the others' oracle (the baseline native build and older CPUs run the
    // narrower ones).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Block512(ref byte at)
    {
        var v = Vector512.LoadUnsafe(ref at);
        return (Vector512.Equals(v, Vector512.Create((byte)'"'))
            | Vector512.Equals(v, Vector512.Create((byte)'\\'))
            | Vector512.LessThan(v, Vector512.Create((byte)0x20))).ExtractMostSignificantBits();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Block256(ref byte at) =>
        Half256(Vector256.LoadUnsafe(ref at)) | ((ulong)Half256(Vector256.LoadUnsafe(ref at, 32)) << 32);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Block128(ref byte at) =>
        Quarter128(Vector128.LoadUnsafe(ref at))
        | ((ulong)Quarter128(Vector128.LoadUnsafe(ref at, 16)) << 16)
        | ((ulong)Quarter128(Vector128.LoadUnsafe(ref at, 32)) << 32)
        | ((ulong)Quarter128(Vector128.LoadUnsafe(ref at, 48)) << 48);

    private static uint Half256(Vector256<byte> v) =>
        (Vector256.Equals(v, Vector256.Create((byte)'"'))
        | Vector256.Equals(v, Vector256.Create((byte)'\\'))
        | Vector256.LessThan(v, Vector256.Create((byte)0x20))).ExtractMostSignificantBits();

    private static uint Quarter128(Vector128<byte> v) =>
        (Vector128.Equals(v, Vector128.Create((byte)'"'))
        | Vector128.Equals(v, Vector128.Create((byte)'\\'))
        | Vector128.LessThan(v, Vector128.Create((byte)0x20))).ExtractMostSignificantBits();
}
