using System.Security.Cryptography;
using System.Text;
using ConsentFilter.Internal;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Internal;

/// <summary>
/// The manifest's digests, computed on a task beside the producer, equal one-shot digests of the same bytes, however
/// the bytes arrive; and a digest that fails, is cancelled or disposed never yields a value.
/// </summary>
public sealed class BackgroundDigestTests
{
    [Property(MaxTest = 60)]
    public Property AnySplit_EqualsOneShotSha256AndBlake3() => Prop.ForAll(
        (from length in Gen.OneOf(Gen.Choose(0, 3000), Gen.Choose(0, (3 * BackgroundDigest.ChunkSize) + 77))
         from seed in Gen.Choose(0, int.MaxValue)
         from pieces in Gen.Choose(1, 40)
         from asyncMask in Gen.Choose(0, int.MaxValue)
         select (length, seed, pieces, asyncMask)).ToArbitrary(),
        t =>
        {
            var data = new byte[t.length];
            new Random(t.seed).NextBytes(data);
            var sha = Digest(DigestAlgorithm.Sha256, data, t.seed, t.pieces, t.asyncMask);
            var blake = Digest(DigestAlgorithm.Blake3, data, t.seed, t.pieces, t.asyncMask);

            // Independent references: the framework's one-shot SHA-256, and BLAKE3's one-shot over the whole buffer.
            return sha == Convert.ToHexStringLower(SHA256.HashData(data))
                && blake == Blake3.Hasher.Hash(data).ToString();
        });

    [Theory]
    [InlineData("", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")]
    [InlineData("abc", "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")]
    public async Task Blake3_KnownAnswers(string text, string expected)
    {
        // The BLAKE3 reference implementation's outputs, so the library itself is pinned, not only compared with itself.
        using var digest = new BackgroundDigest(DigestAlgorithm.Blake3);
        digest.Append(Encoding.ASCII.GetBytes(text));
        Assert.Equal(expected, await digest.CompleteAsync(CancellationToken.None));
    }

    [Fact]
    public async Task FailingHash_FailsTheProducerAndCompletion_NeverHangs()
    {
        using var digest = new BackgroundDigest(DigestAlgorithm.Blake3, new FailingCore());
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

    [Fact]
    public void FailingHash_SyncProducer_GetsTheFailure()
    {
        using var digest = new BackgroundDigest(DigestAlgorithm.Sha256, new FailingCore());
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
    public async Task Disposed_BeforeCompletion_YieldsNoDigest()
    {
        var digest = new BackgroundDigest(DigestAlgorithm.Blake3);
        digest.Append(new byte[1000]);
        digest.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => digest.CompleteAsync(CancellationToken.None));
        Assert.Throws<ObjectDisposedException>(() => digest.Append(new byte[1]));
    }

    [Fact]
    public async Task CancelledCompletion_Throws()
    {
        using var digest = new BackgroundDigest(DigestAlgorithm.Blake3);
        digest.Append(new byte[3 * BackgroundDigest.ChunkSize]);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => digest.CompleteAsync(cancelled.Token));
    }

    [Fact]
    public async Task AppendAfterCompletion_Throws()
    {
        using var digest = new BackgroundDigest(DigestAlgorithm.Blake3);
        digest.Append("abc"u8);
        _ = await digest.CompleteAsync(CancellationToken.None);
        Assert.Throws<InvalidOperationException>(() => digest.Append("d"u8));
    }

    private static string Digest(DigestAlgorithm algorithm, byte[] data, int seed, int pieces, int asyncMask)
    {
        using var digest = new BackgroundDigest(algorithm);
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

    private sealed class FailingCore : DigestCore
    {
        internal override void Append(ReadOnlySpan<byte> data) => throw new IOException("disk gone");

        internal override byte[] Finish() => throw new IOException("disk gone");

        public override void Dispose()
        {
        }
    }
}
