using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Unicode;

namespace ConsentFilter.Internal;

/// <summary>
/// Whether bytes are valid UTF-8, 64 or 32 at a time with table lookups (Keiser &amp; Lemire, "Validating UTF-8 in less than
/// one instruction per byte", 2021 — the algorithm of simdjson and simdutf).
/// </summary>
/// <remarks>
/// Every line is validated before it is parsed, and text with scattered accented letters keeps .NET's
/// <see cref="Utf8.IsValid(ReadOnlySpan{byte})"/> on its slower path. This answers the same question (tests compare
/// them on every boundary sequence at every offset, and on random and mutated text) without per-character branches.
/// With AVX-512 (the x86-64-v4 build, or the JIT on such a CPU) it takes 64 bytes a step: 0.068 ns per byte of the
/// realistic corpus against 0.076 with AVX2 (<c>LineParsingBenchmarks</c>, JIT). A shortcut for all-ASCII blocks was tried
/// and dropped: on multilingual text its branch is mispredicted too often to save anything. Without AVX2 it is
/// <see cref="Utf8.IsValid(ReadOnlySpan{byte})"/>.
/// </remarks>
internal static class Utf8Validator
{
    // Error bits of the three lookups; a byte pair is wrong where all three agree on a bit.
    private const byte TooShort = 1 << 0;   // 11______ 0_______  or  11______ 11______
    private const byte TooLong = 1 << 1;    // 0_______ 10______
    private const byte Overlong3 = 1 << 2;  // 11100000 100_____
    private const byte TooLarge = 1 << 3;   // 11110100 1001____ and above
    private const byte Surrogate = 1 << 4;  // 11101101 101_____
    private const byte Overlong2 = 1 << 5;  // 1100000_ 10______
    private const byte TooLarge1000 = 1 << 6; // 11110101 1000____ and above
    private const byte Overlong4 = 1 << 6;  // 11110000 1000____
    private const byte TwoConts = 1 << 7;   // 10______ 10______
    private const byte Carry = TooShort | TooLong | TwoConts;

    /// <summary>Lookup by the first byte's high nibble (each table twice: one copy per 128-bit lane).</summary>
    private static ReadOnlySpan<byte> Byte1High =>
    [
        TooLong, TooLong, TooLong, TooLong, TooLong, TooLong, TooLong, TooLong,
        TwoConts, TwoConts, TwoConts, TwoConts,
        TooShort | Overlong2, TooShort, TooShort | Overlong3 | Surrogate, TooShort | TooLarge | TooLarge1000 | Overlong4,
        TooLong, TooLong, TooLong, TooLong, TooLong, TooLong, TooLong, TooLong,
        TwoConts, TwoConts, TwoConts, TwoConts,
        TooShort | Overlong2, TooShort, TooShort | Overlong3 | Surrogate, TooShort | TooLarge | TooLarge1000 | Overlong4,
    ];

    /// <summary>Lookup by the first byte's low nibble.</summary>
    private static ReadOnlySpan<byte> Byte1Low =>
    [
        Carry | Overlong3 | Overlong2 | Overlong4, Carry | Overlong2, Carry, Carry,
        Carry | TooLarge, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000,
        Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000,
        Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000 | Surrogate, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000,
        Carry | Overlong3 | Overlong2 | Overlong4, Carry | Overlong2, Carry, Carry,
        Carry | TooLarge, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000,
        Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000,
        Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000 | Surrogate, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000,
    ];

    /// <summary>Lookup by the second byte's high nibble.</summary>
    private static ReadOnlySpan<byte> Byte2High =>
    [
        TooShort, TooShort, TooShort, TooShort, TooShort, TooShort, TooShort, TooShort,
        TooLong | Overlong2 | TwoConts | Overlong3 | TooLarge1000 | Overlong4, TooLong | Overlong2 | TwoConts | Overlong3 | TooLarge,
        TooLong | Overlong2 | TwoConts | Surrogate | TooLarge, TooLong | Overlong2 | TwoConts | Surrogate | TooLarge,
        TooShort, TooShort, TooShort, TooShort,
        TooShort, TooShort, TooShort, TooShort, TooShort, TooShort, TooShort, TooShort,
        TooLong | Overlong2 | TwoConts | Overlong3 | TooLarge1000 | Overlong4, TooLong | Overlong2 | TwoConts | Overlong3 | TooLarge,
        TooLong | Overlong2 | TwoConts | Surrogate | TooLarge, TooLong | Overlong2 | TwoConts | Surrogate | TooLarge,
        TooShort, TooShort, TooShort, TooShort,
    ];

    /// <summary>The largest byte each position may hold when no sequence is left open at the end of a block.</summary>
    private static ReadOnlySpan<byte> MaxComplete =>
    [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0b11110000 - 1, 0b11100000 - 1, 0b11000000 - 1,
    ];

    internal static bool IsValid(ReadOnlySpan<byte> bytes) =>
        Avx512BW.IsSupported ? IsValidAvx512(bytes) : Avx2.IsSupported ? IsValidAvx2(bytes) : Utf8.IsValid(bytes);

    /// <summary>The same algorithm on 64-byte blocks (four 16-byte lanes).</summary>
    internal static bool IsValidAvx512(ReadOnlySpan<byte> bytes)
    {
        // Whole blocks only in the loop, and no call once the tables are loaded: a call makes Native AOT keep every live
        // vector on the stack (all vector registers are caller-saved), and reloading them each round cost half the
        // validator's time (perf annotate). So a short text's tail is copied into a zero-padded block before the loop; a
        // text of two blocks or more needs no copy (that copy was 1.7 % of a run's CPU when every line made it): its tail
        // is its last 64 bytes, checked after the 64 before them (bytes checked twice give the same answer twice).
        var whole = bytes.Length & ~63;
        ref var start = ref Unsafe.AsRef(in System.Runtime.InteropServices.MemoryMarshal.GetReference(bytes));
        var tail = whole < bytes.Length && bytes.Length < 128 ? Tail512(bytes[whole..]) : Vector512<byte>.Zero;
        var tables = new Tables512(
            Vector512.Create(Vector256.Create(Byte1High), Vector256.Create(Byte1High)),
            Vector512.Create(Vector256.Create(Byte1Low), Vector256.Create(Byte1Low)),
            Vector512.Create(Vector256.Create(Byte2High), Vector256.Create(Byte2High)));
        var maxComplete = Vector512.Create(Vector256.Create((byte)0xFF), Vector256.Create(MaxComplete));
        var error = Vector512<byte>.Zero;
        var previous = Vector512<byte>.Zero;
        for (nuint i = 0; i < (nuint)whole; i += 64)
        {
            var block = Vector512.LoadUnsafe(ref start, i);
            error |= Check512(block, previous, tables);
            previous = block;
        }

        var incomplete = Avx512BW.SubtractSaturate(previous, maxComplete);
        if (whole < bytes.Length)
        {
            // A longer text's tail is its last 64 bytes, after the 64 before them; read only now, at the end of the
            // line, since reading there first would fetch a line that the prefetcher brings in order anyway.
            var tailPrevious = previous;
            if (bytes.Length >= 128)
            {
                tail = Vector512.LoadUnsafe(ref start, (nuint)(bytes.Length - 64));
                tailPrevious = Vector512.LoadUnsafe(ref start, (nuint)(bytes.Length - 128));
            }

            error |= Check512(tail, tailPrevious, tables);
            incomplete = Avx512BW.SubtractSaturate(tail, maxComplete);
        }

        return (error | incomplete) == Vector512<byte>.Zero;
    }

    internal static bool IsValidAvx2(ReadOnlySpan<byte> bytes)
    {
        // As in the 64-byte form.
        var whole = bytes.Length & ~31;
        ref var start = ref Unsafe.AsRef(in System.Runtime.InteropServices.MemoryMarshal.GetReference(bytes));
        var tail = whole < bytes.Length && bytes.Length < 64 ? Tail256(bytes[whole..]) : Vector256<byte>.Zero;
        var tables = new Tables256(Vector256.Create(Byte1High), Vector256.Create(Byte1Low), Vector256.Create(Byte2High));
        var maxComplete = Vector256.Create(MaxComplete);
        var error = Vector256<byte>.Zero;
        var previous = Vector256<byte>.Zero;
        for (nuint i = 0; i < (nuint)whole; i += 32)
        {
            var block = Vector256.LoadUnsafe(ref start, i);
            error |= Check256(block, previous, tables);
            previous = block;
        }

        var incomplete = Avx2.SubtractSaturate(previous, maxComplete);
        if (whole < bytes.Length)
        {
            // A longer text's tail is its last 32 bytes, after the 32 before them; read only now, at the end of the
            // line, since reading there first would fetch a line that the prefetcher brings in order anyway.
            var tailPrevious = previous;
            if (bytes.Length >= 64)
            {
                tail = Vector256.LoadUnsafe(ref start, (nuint)(bytes.Length - 32));
                tailPrevious = Vector256.LoadUnsafe(ref start, (nuint)(bytes.Length - 64));
            }

            error |= Check256(tail, tailPrevious, tables);
            incomplete = Avx2.SubtractSaturate(tail, maxComplete);
        }

        return (error | incomplete) == Vector256<byte>.Zero;
    }

    /// <summary>The error bits of one block given the block before it (zero where the block is right so far).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Check512(Vector512<byte> block, Vector512<byte> previous, Tables512 tables)
    {
        var low4 = Vector512.Create((byte)0x0F);

        // The 64 bytes ending just before each byte of the block: previous block's last lane, then this block's first three.
        var shifted = Avx512F.AlignRight32(block.AsUInt32(), previous.AsUInt32(), 12).AsByte();
        var prev1 = Avx512BW.AlignRight(block, shifted, 15);
        var special = Avx512BW.Shuffle(tables.Byte1High, Avx512BW.ShiftRightLogical(prev1.AsUInt16(), 4).AsByte() & low4)
            & Avx512BW.Shuffle(tables.Byte1Low, prev1 & low4)
            & Avx512BW.Shuffle(tables.Byte2High, Avx512BW.ShiftRightLogical(block.AsUInt16(), 4).AsByte() & low4);

        // Where the byte two or three back opened a 3- or 4-byte sequence, this byte must be a continuation.
        var mustBeContinuation = (Avx512BW.SubtractSaturate(Avx512BW.AlignRight(block, shifted, 14), Vector512.Create((byte)(0xE0 - 0x80)))
            | Avx512BW.SubtractSaturate(Avx512BW.AlignRight(block, shifted, 13), Vector512.Create((byte)(0xF0 - 0x80)))) & Vector512.Create((byte)0x80);
        return mustBeContinuation ^ special;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Check256(Vector256<byte> block, Vector256<byte> previous, Tables256 tables)
    {
        var low4 = Vector256.Create((byte)0x0F);

        // The 32 bytes ending just before each byte of the block: previous block's upper lane, then this block.
        var shifted = Avx2.Permute2x128(previous, block, 0x21);
        var prev1 = Avx2.AlignRight(block, shifted, 15);
        var special = Avx2.Shuffle(tables.Byte1High, Avx2.ShiftRightLogical(prev1.AsUInt16(), 4).AsByte() & low4)
            & Avx2.Shuffle(tables.Byte1Low, prev1 & low4)
            & Avx2.Shuffle(tables.Byte2High, Avx2.ShiftRightLogical(block.AsUInt16(), 4).AsByte() & low4);

        // Where the byte two or three back opened a 3- or 4-byte sequence, this byte must be a continuation.
        var mustBeContinuation = (Avx2.SubtractSaturate(Avx2.AlignRight(block, shifted, 14), Vector256.Create((byte)(0xE0 - 0x80)))
            | Avx2.SubtractSaturate(Avx2.AlignRight(block, shifted, 13), Vector256.Create((byte)(0xF0 - 0x80)))) & Vector256.Create((byte)0x80);
        return mustBeContinuation ^ special;
    }

    // A short text's tail, padded with zeros (ASCII): a sequence cut by the end of the text meets an ASCII byte and fails.
    // (A tail read from the span itself ends with the text's last bytes, which the incomplete-sequence check covers.)
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<byte> Tail512(ReadOnlySpan<byte> rest)
    {
        Span<byte> tail = stackalloc byte[64];
        tail.Clear();
        rest.CopyTo(tail);
        return Vector512.Create((ReadOnlySpan<byte>)tail);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector256<byte> Tail256(ReadOnlySpan<byte> rest)
    {
        Span<byte> tail = stackalloc byte[32];
        tail.Clear();
        rest.CopyTo(tail);
        return Vector256.Create((ReadOnlySpan<byte>)tail);
    }

    /// <summary>The three lookup tables, one copy per 128-bit lane.</summary>
    private readonly record struct Tables512(Vector512<byte> Byte1High, Vector512<byte> Byte1Low, Vector512<byte> Byte2High);

    private readonly record struct Tables256(Vector256<byte> Byte1High, Vector256<byte> Byte1Low, Vector256<byte> Byte2High);
}
