using ConsentFilter.Internal;

namespace ConsentFilter.Tests.Internal;

/// <summary>
/// The output's digest stream writes first and hashes after (so the batch is in cache when hashed): the digest still
/// covers every byte written, in order; a failed write is not hashed and reaches the writer; a failed hash after a
/// good write reaches the writer too and leaves no digest to put in a manifest.
/// </summary>
public sealed class HashingWriteStreamTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Writes_OfEverySize_DigestEqualsTheBytesWritten(bool async)
    {
        var data = new byte[(3 * InlineDigest.DirectMinimum) + 12345];
        new Random(7).NextBytes(data);
        using var digest = new InlineDigest(DigestAlgorithm.Blake3);
        using var inner = new MemoryStream();
        await using (var stream = new HashingWriteStream(inner, digest))
        {
            var offset = 0;
            foreach (var size in new[] { 1, 100, InlineDigest.DirectMinimum + 3, 70_000, InlineDigest.DirectMinimum, 5 })
            {
                if (async)
                {
                    await stream.WriteAsync(data.AsMemory(offset, size));
                }
                else
                {
                    stream.Write(data, offset, size);
                }

                offset += size;
            }

            await stream.WriteAsync(data.AsMemory(offset));
        }

        Assert.Equal(data, inner.ToArray());
        Assert.Equal(Blake3.Hasher.Hash(data).ToString(), await digest.CompleteAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FailedWrite_ReachesTheWriter_AndIsNotHashed(bool async)
    {
        var core = new CountingCore();
        using var digest = new InlineDigest(DigestAlgorithm.Blake3, core);
        await using var stream = new HashingWriteStream(new FailingStream(), digest);
        var batch = new byte[InlineDigest.DirectMinimum];

        await Assert.ThrowsAsync<IOException>(() => WriteAsync(stream, batch, async));
        Assert.Equal(0, core.Bytes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FailedHash_AfterAGoodWrite_ReachesTheWriter_AndLeavesNoDigest(bool async)
    {
        using var digest = new InlineDigest(DigestAlgorithm.Blake3, new FailingCore());
        using var inner = new MemoryStream();
        await using var stream = new HashingWriteStream(inner, digest);
        var batch = new byte[InlineDigest.DirectMinimum];

        await Assert.ThrowsAsync<IOException>(() => WriteAsync(stream, batch, async));
        Assert.Equal(batch.Length, inner.Length);
        await Assert.ThrowsAsync<IOException>(() => digest.CompleteAsync(CancellationToken.None));
    }

    /// <summary>One write, through <see cref="Stream.WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/> or <see cref="Stream.Write(ReadOnlySpan{byte})"/>.</summary>
    private static async Task WriteAsync(Stream stream, byte[] batch, bool async)
    {
        if (async)
        {
            await stream.WriteAsync(batch);
        }
        else
        {
            stream.Write(batch);
        }
    }

    private sealed class CountingCore : DigestCore
    {
        private readonly DigestCore _real = DigestCore.Create(DigestAlgorithm.Blake3);

        internal long Bytes { get; private set; }

        internal override void Append(ReadOnlySpan<byte> data)
        {
            Bytes += data.Length;
            _real.Append(data);
        }

        internal override byte[] Finish() => _real.Finish();

        public override void Dispose() => _real.Dispose();
    }

    private sealed class FailingCore : DigestCore
    {
        internal override void Append(ReadOnlySpan<byte> data) => throw new IOException("hash failed");

        internal override byte[] Finish() => throw new IOException("hash failed");

        public override void Dispose()
        {
        }
    }

    private sealed class FailingStream : MemoryStream
    {
        public override void Write(ReadOnlySpan<byte> buffer) => throw new IOException("disk full");

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException(new IOException("disk full"));
    }
}
