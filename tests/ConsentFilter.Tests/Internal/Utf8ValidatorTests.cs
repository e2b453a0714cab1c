using System.Text;
using System.Text.Unicode;
using ConsentFilter.Internal;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Internal;

/// <summary>The vectorised validator answers exactly as <see cref="Utf8.IsValid(ReadOnlySpan{byte})"/>, in each form this CPU runs.</summary>
public sealed class Utf8ValidatorTests
{
    private delegate bool Validator(ReadOnlySpan<byte> bytes);

    /// <summary>The dispatcher, and each vector width this machine supports (the CI machine has both).</summary>
    private static readonly Validator[] s_validators =
    [
        Utf8Validator.IsValid,
        .. System.Runtime.Intrinsics.X86.Avx2.IsSupported ? new Validator[] { Utf8Validator.IsValidAvx2 } : [],
        .. System.Runtime.Intrinsics.X86.Avx512BW.IsSupported ? new Validator[] { Utf8Validator.IsValidAvx512 } : [],
    ];

    private static bool AllAgree(ReadOnlySpan<byte> bytes)
    {
        var expected = Utf8.IsValid(bytes);
        foreach (var validator in s_validators)
        {
            if (validator(bytes) != expected)
            {
                return false;
            }
        }

        return true;
    }

    private static readonly byte[] s_interesting =
        [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF];

    /// <summary>
    /// Every sequence of up to three bytes from the boundary values, around the 16-byte lane edges and the 32- and 64-byte
    /// block edges, with the text ending inside, just after, and well after it.
    /// </summary>
    [Fact]
    public void BoundarySequences_AroundLaneAndBlockEdges_AgreeWithTheFramework()
    {
        int[] offsets = [0, 13, 14, 15, 16, 17, 29, 30, 31, 32, 33, 46, 47, 48, 61, 62, 63, 64, 65, 78, 79, 80, 125, 126, 127, 128];
        var buffer = new byte[140];
        foreach (var a in s_interesting)
        {
            foreach (var b in s_interesting)
            {
                foreach (var c in s_interesting)
                {
                    foreach (var offset in offsets)
                    {
                        Array.Fill(buffer, (byte)'a');
                        buffer[offset] = a;
                        buffer[offset + 1] = b;
                        buffer[offset + 2] = c;
                        foreach (var length in new[] { offset + 1, offset + 2, offset + 3, 64, 70, 128, 140 })
                        {
                            var span = buffer.AsSpan(0, length);
                            Assert.True(AllAgree(span), Convert.ToHexString(span));
                        }
                    }
                }
            }
        }
    }

    /// <summary>Four-byte and malformed sequences (from a review), alone or followed by another, at offsets 0–70, lengths 0–140.</summary>
    [Fact]
    public void LongSequences_AtEveryOffsetAndLength_AgreeWithTheFramework()
    {
        byte[][] sequences =
        [
            [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xE0, 0xA0, 0x80],
            [0xE0, 0x9F, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF], [0xF5, 0x80, 0x80, 0x80], [0xF0, 0x90, 0x80], [0xC2, 0x80, 0x80], [],
        ];
        foreach (var first in sequences)
        {
            foreach (var second in sequences)
            {
                for (var offset = 0; offset <= 70; offset++)
                {
                    for (var length = 0; length <= 140; length++)
                    {
                        var buffer = new byte[length];
                        Array.Fill(buffer, (byte)'a');
                        var at = offset;
                        foreach (var b in first.Concat(second))
                        {
                            if (at < length)
                            {
                                buffer[at++] = b;
                            }
                        }

                        Assert.True(AllAgree(buffer), Convert.ToHexString(buffer));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Sequences placed at every position of the last 80 bytes of texts of 120–270 bytes: from two blocks on, the tail
    /// is read as the text's last block, overlapping the blocks before it, and checked after the block preceding it.
    /// </summary>
    [Fact]
    public void Sequences_NearTheEndOfLongerTexts_AgreeWithTheFramework()
    {
        byte[][] sequences =
        [
            [0xF0, 0x90, 0x80, 0x80], [0xE2, 0x82, 0xAC], [0xC3, 0xA9], [0xED, 0xA0, 0x80], [0xE0, 0x9F, 0xBF], [0xF0, 0x90, 0x80],
            [0xE2, 0x82], [0xC3], [0x80], [0xFF], [0xC3, 0xA9, 0x80],
        ];
        for (var length = 120; length <= 270; length++)
        {
            foreach (var sequence in sequences)
            {
                for (var fromEnd = 1; fromEnd <= 80; fromEnd++)
                {
                    var buffer = new byte[length];
                    Array.Fill(buffer, (byte)'a');
                    var at = length - fromEnd;
                    for (var k = 0; k < sequence.Length && at + k < length; k++)
                    {
                        buffer[at + k] = sequence[k];
                    }

                    Assert.True(AllAgree(buffer), Convert.ToHexString(buffer));
                }
            }
        }
    }

    [Property(MaxTest = 3000)]
    public Property RandomBytes_AgreeWithTheFramework() => Prop.ForAll(
        Gen.ArrayOf(Gen.OneOf(Gen.Elements(s_interesting), Gen.Choose(0, 255).Select(b => (byte)b), Gen.Constant((byte)'x')))
            .Select(a => a.Take(160).ToArray()).ToArbitrary(),
        bytes => AllAgree(bytes).Label(Convert.ToHexString(bytes)));

    [Property(MaxTest = 2000)]
    public Property ValidText_WithOneChange_AgreesWithTheFramework() => Prop.ForAll(
        (from codePoints in Gen.ArrayOf(Gen.OneOf(Gen.Choose(0x20, 0x7E), Gen.Choose(0x80, 0x7FF), Gen.Choose(0x800, 0xD7FF), Gen.Choose(0xE000, 0xFFFF), Gen.Choose(0x10000, 0x10FFFF)))
         from change in Gen.Choose(-1, 200)
         from value in Gen.Elements(s_interesting)
         select (codePoints, change, value)).ToArbitrary(),
        input =>
        {
            var bytes = Encoding.UTF8.GetBytes(string.Concat(input.codePoints.Select(char.ConvertFromUtf32)));
            if (input.change >= 0 && input.change < bytes.Length)
            {
                bytes[input.change] = input.value;
            }

            return AllAgree(bytes).Label(Convert.ToHexString(bytes));
        });

    /// <summary>Long ASCII runs (whole blocks that skip the lookups) between multi-byte characters, one byte possibly
    /// changed or the text cut: a sequence left open at a block's end must fail on the ASCII block after it.</summary>
    [Property(MaxTest = 2000)]
    public Property AsciiRuns_BetweenSequences_WithOneChangeOrCut_AgreeWithTheFramework() => Prop.ForAll(
        (from pieces in Gen.ArrayOf(Gen.Zip(Gen.Choose(0, 140), Gen.OneOf(Gen.Choose(0x80, 0x7FF), Gen.Choose(0x800, 0xFFFF).Where(c => c is < 0xD800 or > 0xDFFF), Gen.Choose(0x10000, 0x10FFFF))))
         from change in Gen.Choose(-1, 400)
         from value in Gen.Elements(s_interesting)
         from cut in Gen.Choose(0, 3)
         select (pieces, change, value, cut)).ToArbitrary(),
        input =>
        {
            var text = string.Concat(input.pieces.Select(p => new string('a', p.Item1) + char.ConvertFromUtf32(p.Item2)));
            var bytes = Encoding.UTF8.GetBytes(text);
            if (input.change >= 0 && input.change < bytes.Length)
            {
                bytes[input.change] = input.value;
            }

            // Cutting 1–3 bytes off the end may leave the last character open.
            bytes = bytes[..Math.Max(0, bytes.Length - input.cut)];
            return AllAgree(bytes).Label(Convert.ToHexString(bytes));
        });
}
