using System.Security.Cryptography;
using System.Text;
using ConsentFilter.Internal;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Internal;

/// <summary>
/// The manifest's digests, computed on a task beside the producer or in place on its thread, equal one-shot digests of
/// the same bytes, however the bytes arrive; and a digest that fails, is cancelled or disposed never yields a value.
/// </summary>
public sealed class StreamDigestTests
{
    public enum Placement
    {
        Background,
        Inline,
    }

    public static TheoryData<Placement> Placements => [Placement.Background, Placement.Inline];

    [Property(MaxTest = 80)]
    public Property AnySplit_EqualsOneShotSha256AndBlake3() => Prop.ForAll(
        (from length in Gen.OneOf(Gen.Choose(0, 3000), Gen.Choose(0, (3 * BackgroundDigest.ChunkSize) + 77))
         from seed in Gen.Choose(0, int.MaxValue)
         from pieces in Gen.OneOf(Gen.Choose(1, 40), Gen.Choose(1, 4))
         from asyncMask in Gen.Choose(0, int.MaxValue)
         from placement in Gen.Elements(Placement.Background, Placement.Inline)
         select (length, seed, pieces, asyncMask, placement)).ToArbitrary(),
        t =>
        {
            var data = new byte[t.length];
            new Random(t.seed).NextBytes(data);
            var sha = Digest(t.placement, DigestAlgorithm.Sha256, data, t.seed, t.pieces, t.asyncMask);
            var blake = Digest(t.placement, DigestAlgorithm.Blake3, data, t.seed, t.pieces, t.asyncMask);

            // Independent references: the framework's one-shot SHA-256, and BLAKE3's one-shot over the whole buffer.
            return sha == Convert.ToHexStringLower(SHA256.HashData(data))
                && blake == Blake3.Hasher.Hash(data).ToString();
        });

    [Theory]
    [InlineData(Placement.Background, "", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")]
    [InlineData(Placement.Background, "abc", "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")]
    [InlineData(Placement.Inline, "", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")]
    [InlineData(Placement.Inline, "abc", "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")]
    public async Task Blake3_KnownAnswers(Placement placement, string text, string expected)
    {
        // The BLAKE3 reference implementation's outputs, so the library itself is pinned, not only compared with itself.
        using var digest = Create(placement, DigestAlgorithm.Blake3);
        digest.Append(Encoding.ASCII.GetBytes(text));
        Assert.Equal(expected, await digest.CompleteAsync(CancellationToken.None));
    }

    [Theory]
    [MemberData(nameof(Placements))]
    public async Task FailingHash_FailsTheProducerAndCompletion_NeverHangs(Placement placement)
    {
        using var digest = Create(placement, DigestAlgorithm.Blake3, new FailingCore());
        var chunk = new byte[BackgroundDigest.ChunkSize];

        // Far more chunks than the channel holds: the producer must get the failure, not wait forever.
        var failure = await Assert.ThrowsAsync<IOException>(async () =>
        {
            for (var i = 0; i < 4 * BackgroundDigest.MaxChunksInFlight; i++)
            {
                await digest.AppendAsync(chunk, CancellationToken.None);
            }

            await digest.CompleteAsync(CancellationToken.None);
        });
        Assert.Equal("disk gone", failure.Message);
        await Assert.ThrowsAsync<IOException>(() => digest.CompleteAsync(CancellationToken.None));
    }

    [Theory]
    [MemberData(nameof(Placements))]
    public void FailingHash_SyncProducer_GetsTheFailure(Placement placement)
    {
        using var digest = Create(placement, DigestAlgorithm.Sha256, new FailingCore());
        var chunk = new byte[BackgroundDigest.ChunkSize];
        Assert.Throws<IOException>(() =>
        {
            for (var i = 0; i < 4 * BackgroundDigest.MaxChunksInFlight; i++)
            {
                digest.Append(chunk);
            }
        });
    }

    [Fact]
    public async Task FailingHash_Inline_NoLaterDigestLeavesTheFailedBytesOut()
    {
        // A core that fails once, then works: a producer that swallowed the failure must not get a digest of the rest.
        using var digest = new InlineDigest(DigestAlgorithm.Blake3, new FailingOnceCore());
        Assert.Throws<IOException>(() => digest.Append(new byte[InlineDigest.DirectMinimum]));
        Assert.Throws<IOException>(() => digest.Append("abc"u8));
        await Assert.ThrowsAsync<IOException>(() => digest.CompleteAsync(CancellationToken.None));
    }

    [Fact]
    public void Create_PicksThePlacementByCoreCount()
    {
        using var digest = StreamDigest.Create(DigestAlgorithm.Blake3);
        Assert.IsType(Environment.ProcessorCount <= StreamDigest.InlineUpToProcessors ? typeof(InlineDigest) : typeof(BackgroundDigest), digest);
    }

    [Theory]
    [InlineData(true, typeof(InlineDigest))]
    [InlineData(false, typeof(BackgroundDigest))]
    public async Task Create_FollowsThePinnedPlacementOnItsFlow(bool inline, Type expected)
    {
        StreamDigest.InlineOverride.Value = inline;
        await Task.Yield();
        using var digest = StreamDigest.Create(DigestAlgorithm.Blake3);
        Assert.IsType(expected, digest);
    }

    [Theory]
    [MemberData(nameof(Placements))]
    public async Task Disposed_BeforeCompletion_YieldsNoDigest(Placement placement)
    {
        var digest = Create(placement, DigestAlgorithm.Blake3);
        digest.Append(new byte[1000]);
        digest.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => digest.CompleteAsync(CancellationToken.None));
        Assert.Throws<ObjectDisposedException>(() => digest.Append(new byte[1]));
    }

    [Theory]
    [MemberData(nameof(Placements))]
    public async Task CancelledCompletion_Throws(Placement placement)
    {
        using var digest = Create(placement, DigestAlgorithm.Blake3);
        digest.Append(new byte[3 * BackgroundDigest.ChunkSize]);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => digest.CompleteAsync(cancelled.Token));
    }

    [Theory]
    [MemberData(nameof(Placements))]
    public async Task AppendAfterCompletion_Throws(Placement placement)
    {
        using var digest = Create(placement, DigestAlgorithm.Blake3);
        digest.Append("abc"u8);
        _ = await digest.CompleteAsync(CancellationToken.None);
        Assert.Throws<InvalidOperationException>(() => digest.Append("d"u8));
    }

    private static StreamDigest Create(Placement placement, DigestAlgorithm algorithm, DigestCore? core = null) => placement switch
    {
        Placement.Inline => core is null ? new InlineDigest(algorithm) : new InlineDigest(algorithm, core),
        _ => core is null ? new BackgroundDigest(algorithm) : new BackgroundDigest(algorithm, core),
    };

    private static string Digest(Placement placement, DigestAlgorithm algorithm, byte[] data, int seed, int pieces, int asyncMask)
    {
        using var digest = Create(placement, algorithm);
        var random = new Random(seed ^ 0x5bd1e995);
        var offset = 0;
        for (var p = 0; offset < data.Length; p++)
        {
            var length = p == pieces - 1 ? data.Length - offset : Math.Min(data.Length - offset, random.Next(0, (data.Length / pieces) + 2));
            var piece = data.AsMemory(offset, length);
            if (((asyncMask >> (p % 31)) & 1) == 1)
            {
                digest.AppendAsync(piece, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }
            else
            {
                digest.Append(piece.Span);
            }

            offset += length;
        }

        return digest.CompleteAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    private sealed class FailingOnceCore : DigestCore
    {
        private readonly DigestCore _real = DigestCore.Create(DigestAlgorithm.Blake3);
        private bool _failed;

        internal override void Append(ReadOnlySpan<byte> data)
        {
            if (!_failed)
            {
                _failed = true;
                throw new IOException("disk gone");
            }

            _real.Append(data);
        }

        internal override byte[] Finish() => _real.Finish();

        public override void Dispose() => _real.Dispose();
    }

    private sealed class FailingCore : DigestCore
    {
        internal override void Append(ReadOnlySpan<byte> data) => throw new IOException("disk gone");

        internal override byte[] Finish() => throw new IOException("disk gone");

        public override void Dispose()
        {
        }
    }
}
