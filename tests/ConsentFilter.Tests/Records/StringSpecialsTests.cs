using System.Buffers;
using ConsentFilter.Records;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Records;

/// <summary>The scanner's bitmap finds exactly what a search for <c>"</c>, <c>\</c> and control characters finds, from every offset.</summary>
public sealed class StringSpecialsTests
{
    private static readonly SearchValues<byte> s_oracle = SearchValues.Create(
        [(byte)'"', (byte)'\\', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);

    [Property(MaxTest = 400)]
    public Property NextFrom_EqualsIndexOfAny_AtEveryOffset() => Prop.ForAll(
        (from length in Gen.OneOf(Gen.Choose(0, 70), Gen.Choose(0, 700))
         from density in Gen.Choose(0, 40)
         from seed in Gen.Choose(0, int.MaxValue)
         select (length, density, seed)).ToArbitrary(),
        t =>
        {
            // Mostly plain bytes (ASCII and UTF-8 lead/continuation bytes) with the set's members sprinkled in, and
            // the neighbours of its edges (0x1F/0x20, '!'/'#', '['/']') that must not be marked.
            var random = new Random(t.seed);
            byte[] members = [(byte)'"', (byte)'\\', 0x00, 0x09, 0x0A, 0x1F];
            byte[] neighbours = [0x20, (byte)'!', (byte)'#', (byte)'[', (byte)']', 0x7F, 0x80, 0xBF, 0xE2, 0xF0, 0xFF];
            var line = new byte[t.length];
            for (var k = 0; k < line.Length; k++)
            {
                var roll = random.Next(100);
                line[k] = roll < t.density ? members[random.Next(members.Length)]
                    : roll < 2 * t.density ? neighbours[random.Next(neighbours.Length)]
                    : (byte)random.Next(0, 256);
            }

            ulong[]? scratch = t.seed % 3 == 0 ? new ulong[1] : null; // a scratch too small must grow
            var specials = StringSpecials.Mark(line, ref scratch);
            for (var i = 0; i <= line.Length + 64; i++)
            {
                var expected = i >= line.Length ? -1 : line.AsSpan(i).IndexOfAny(s_oracle) is var n && n >= 0 ? i + n : -1;
                if (specials.NextFrom(i) != expected)
                {
                    return false.Label($"offset {i} of {Convert.ToHexString(line)}: {specials.NextFrom(i)} != {expected}");
                }
            }

            return true.ToProperty();
        });

    [Fact]
    public void Reused_Scratch_HoldsNoMarksOfALongerEarlierLine()
    {
        ulong[]? scratch = null;
        _ = StringSpecials.Mark(new byte[300].AsSpan(), ref scratch); // 300 NULs: every bit set
        var specials = StringSpecials.Mark("{\"a\":1}"u8, ref scratch);
        Assert.Equal(1, specials.NextFrom(0));
        Assert.Equal(3, specials.NextFrom(2));
        Assert.Equal(-1, specials.NextFrom(4));
        Assert.Equal(-1, specials.NextFrom(64));
    }

    /// <summary>Each vector width this CPU runs marks a 64-byte block exactly as a byte-by-byte test does.</summary>
    [Property(MaxTest = 300)]
    public Property EveryWidth_MarksExactlyTheSet() => Prop.ForAll(
        Gen.ArrayOf(Gen.OneOf(Gen.Choose(0, 255), Gen.Elements(0x00, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7F, 0x80, 0xFF)).Select(b => (byte)b), 64).ToArbitrary(),
        block =>
        {
            ulong expected = 0;
            for (var k = 0; k < 64; k++)
            {
                expected |= s_oracle.Contains(block[k]) ? 1UL << k : 0;
            }

            ref var at = ref block[0];
            return (StringSpecials.Block128(ref at) == expected
                && (!System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated || StringSpecials.Block256(ref at) == expected)
                && (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated || StringSpecials.Block512(ref at) == expected))
                .Label(Convert.ToHexString(block));
        });
}
