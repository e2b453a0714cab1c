using System.Buffers;
using System.Runtime.ExceptionServices;

namespace ConsentFilter.Internal;

/// <summary>A digest computed on the producer's thread as the bytes arrive, without copying them where it can.</summary>
/// <remarks>
/// A span of at least <see cref="DirectMinimum"/> bytes is hashed where it lies — just read or just written, so still
/// in this core's cache — after any bytes gathered before it. Smaller spans are gathered into a pooled
/// <see cref="CarrySize"/> buffer first, because BLAKE3 hashes 16 chunks (16 KiB) at a time and small updates cost
/// several times more per byte. A failure of the hash throws to the producer at once.
/// </remarks>
internal sealed class InlineDigest : StreamDigest
{
    internal const int DirectMinimum = 256 * 1024;
    internal const int CarrySize = 1 << 20;

    private readonly DigestCore _core;
    private byte[]? _carry;
    private int _filled;
    private bool _completed;
    private bool _disposed;
    private string? _digest;
    private ExceptionDispatchInfo? _failure;

    internal InlineDigest(DigestAlgorithm algorithm)
        : this(algorithm, DigestCore.Create(algorithm))
    {
    }

    /// <summary>With a given core (tests inject a failing one).</summary>
    internal InlineDigest(DigestAlgorithm algorithm, DigestCore core)
    {
        Algorithm = algorithm;
        _core = core;
    }

    internal override DigestAlgorithm Algorithm { get; }

    internal override void Append(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException("internal error: bytes appended to a completed digest");
        }

        _failure?.Throw();
        if (data.Length >= DirectMinimum)
        {
            // What was gathered goes first, as its own update; then the span itself, uncopied.
            HashCarried();
            Hash(data);
            return;
        }

        while (!data.IsEmpty)
        {
            _carry ??= ArrayPool<byte>.Shared.Rent(CarrySize);
            var n = Math.Min(data.Length, CarrySize - _filled);
            data[..n].CopyTo(_carry.AsSpan(_filled));
            _filled += n;
            data = data[n..];
            if (_filled == CarrySize)
            {
                HashCarried();
            }
        }
    }

    internal override ValueTask AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Append(data.Span);
        return ValueTask.CompletedTask;
    }

    internal override Task<string> CompleteAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        _failure?.Throw();
        if (_digest is null)
        {
            _completed = true;
            HashCarried();
            try
            {
                _digest = Convert.ToHexStringLower(_core.Finish());
            }
            catch (Exception e)
            {
                _failure = ExceptionDispatchInfo.Capture(e);
                throw;
            }
        }

        return Task.FromResult(_digest);
    }

    public override void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _core.Dispose();
        if (_carry is { } carry)
        {
            _carry = null;
            ArrayPool<byte>.Shared.Return(carry);
        }
    }

    private void HashCarried()
    {
        if (_filled > 0)
        {
            Hash(_carry.AsSpan(0, _filled));
            _filled = 0;
        }
    }

    /// <summary>A failed update leaves the digest unusable: every later call throws the same failure, so bytes that
    /// were never hashed cannot be left out of a digest that is still returned.</summary>
    private void Hash(ReadOnlySpan<byte> data)
    {
        try
        {
            _core.Append(data);
        }
        catch (Exception e)
        {
            _failure = ExceptionDispatchInfo.Capture(e);
            throw;
        }
    }
}
