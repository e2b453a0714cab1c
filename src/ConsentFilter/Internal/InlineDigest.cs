using System.Buffers;
using System.Runtime.ExceptionServices;

namespace ConsentFilter.Internal;

/// <summary>A digest computed on the producer's thread as the bytes arrive, without copying them where it can.</summary>
/// <remarks>
/// <para>
/// A span of at least <see cref="DirectMinimum"/> bytes is hashed where it lies — just read or just written, so still
/// in this core's cache — after any bytes gathered before it. Smaller spans are gathered into a pooled
/// <see cref="CarrySize"/> buffer first, because BLAKE3 hashes 16 chunks (16 KiB) at a time and small updates cost
/// several times more per byte. A failure of the hash throws to the producer at once.
/// </para>
/// <para>
/// Every update but the last is a whole number of <see cref="Group"/>s, so each starts where the stream is at a multiple
/// of 16 KiB: only there does the BLAKE3 library take its 16-chunk path. An update that starts or ends elsewhere has
/// its odd chunks compressed one at a time (measured ~7× the cost per byte); with the reader's ~1 MiB reads and the
/// writer's ~400 KiB batches, which are never multiples of 16 KiB, that was 15 % of the hash's time. A large span's
/// head tops the gathered bytes up to a whole group and its tail (under 16 KiB) is gathered for the next update:
/// at most 32 KiB copied per span.
/// </para>
/// </remarks>
internal sealed class InlineDigest : StreamDigest
{
    internal const int DirectMinimum = 256 * 1024;
    internal const int CarrySize = 1 << 20;

    /// <summary>What every update but the last is a multiple of: the 16 chunks of 1 KiB BLAKE3 hashes at once.</summary>
    internal const int Group = 16 * 1024;

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
            // The gathered bytes, topped up to a whole group from the span's head, go first as their own update; then
            // the span's whole groups, uncopied; its tail waits in the carry.
            var head = (Group - (_filled % Group)) % Group;
            Gather(data[..head]);
            HashCarried();
            var body = (data.Length - head) / Group * Group;
            Hash(data.Slice(head, body));
            data = data[(head + body)..];
        }

        Gather(data);
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

    /// <summary>Copies into the carry, hashing it whenever it is full (a whole number of groups).</summary>
    private void Gather(ReadOnlySpan<byte> data)
    {
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

    /// <summary>Hashes the gathered bytes: between updates a whole number of groups, at completion whatever is left.</summary>
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
