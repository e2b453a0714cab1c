using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace ConsentFilter.Internal;

/// <summary>A cryptographic digest of a byte stream, computed on a thread-pool task beside its producer.</summary>
/// <remarks>
/// The producer (the pipeline's reader for an input, its writer for the output) only copies each span into a pooled
/// 1 MiB chunk — a memory copy, ~20× cheaper than hashing it — and hands full chunks to the hashing task over a
/// bounded channel, so the hash leaves the pipeline's critical threads and memory stays bounded (at most
/// <see cref="MaxChunksInFlight"/> + 1 chunks). One producer at a time. Fail-closed: a hashing failure closes the
/// channel with that failure, so the producer's next append and <see cref="CompleteAsync"/> throw it; a digest that was
/// disposed or cancelled before completing never yields a value.
/// </remarks>
internal sealed class BackgroundDigest : StreamDigest
{
    internal const int ChunkSize = 1 << 20;

    /// <summary>Chunks queued for hashing before the producer waits (backpressure).</summary>
    internal const int MaxChunksInFlight = 4;

    private readonly Channel<Chunk> _chunks = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(MaxChunksInFlight)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
        SingleWriter = true,
    });

    private readonly CancellationTokenSource _stop = new();
    private readonly Task<byte[]> _hashing;
    private byte[]? _current;
    private int _filled;
    private bool _completed;
    private bool _disposed;

    internal BackgroundDigest(DigestAlgorithm algorithm)
        : this(algorithm, DigestCore.Create(algorithm))
    {
    }

    /// <summary>With a given core (tests inject a failing one).</summary>
    internal BackgroundDigest(DigestAlgorithm algorithm, DigestCore core)
    {
        Algorithm = algorithm;
        _hashing = Task.Run(() => HashAsync(core, _stop.Token));
    }

    internal override DigestAlgorithm Algorithm { get; }

    /// <summary>Adds bytes; waits (blocking) only when the hashing task is <see cref="MaxChunksInFlight"/> chunks behind.</summary>
    internal override void Append(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var n = CopyIntoChunk(data);
            data = data[n..];
            if (_filled == ChunkSize)
            {
                var chunk = TakeChunk();
                if (!_chunks.Writer.TryWrite(chunk))
                {
                    WriteAsync(chunk, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                }
            }
        }
    }

    /// <summary>Adds bytes; awaits when the hashing task is <see cref="MaxChunksInFlight"/> chunks behind.</summary>
    internal override async ValueTask AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var n = CopyIntoChunk(data.Span);
            data = data[n..];
            if (_filled == ChunkSize)
            {
                await WriteAsync(TakeChunk(), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Hands over the last chunk and waits for the digest of every byte appended.</summary>
    internal override async Task<string> CompleteAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_completed)
        {
            _completed = true;
            if (_filled > 0)
            {
                await WriteAsync(TakeChunk(), cancellationToken).ConfigureAwait(false);
            }

            _chunks.Writer.TryComplete();
        }

        return Convert.ToHexStringLower(await _hashing.WaitAsync(cancellationToken).ConfigureAwait(false));
    }

    public override void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // Stops the hashing task whether or not it completed; what it had not hashed is dropped, and a digest that was
        // not completed can no longer be.
        _chunks.Writer.TryComplete();
        _stop.Cancel();
        if (_current is { } current)
        {
            _current = null;
            ArrayPool<byte>.Shared.Return(current);
        }

        // The task ends on its own (cancelled or drained); observe its exception so it is not reported as unobserved.
        _ = _hashing.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async ValueTask WriteAsync(Chunk chunk, CancellationToken cancellationToken)
    {
        try
        {
            await _chunks.Writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e) when (e.InnerException is { } failure)
        {
            // The hashing task failed: the producer fails with that failure itself.
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    private int CopyIntoChunk(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException("internal error: bytes appended to a completed digest");
        }

        _current ??= ArrayPool<byte>.Shared.Rent(ChunkSize);
        var n = Math.Min(data.Length, ChunkSize - _filled);
        data[..n].CopyTo(_current.AsSpan(_filled));
        _filled += n;
        return n;
    }

    private Chunk TakeChunk()
    {
        var chunk = new Chunk(_current!, _filled);
        _current = null;
        _filled = 0;
        return chunk;
    }

    private async Task<byte[]> HashAsync(DigestCore core, CancellationToken cancellationToken)
    {
        try
        {
            using (core)
            {
                await foreach (var chunk in _chunks.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    core.Append(chunk.Buffer.AsSpan(0, chunk.Length));
                    ArrayPool<byte>.Shared.Return(chunk.Buffer);
                }

                cancellationToken.ThrowIfCancellationRequested();
                return core.Finish();
            }
        }
        catch (Exception e)
        {
            // The producer must not wait forever on a full channel nobody reads: it gets this failure instead.
            _chunks.Writer.TryComplete(e);
            throw;
        }
    }

    private readonly record struct Chunk(byte[] Buffer, int Length);
}
