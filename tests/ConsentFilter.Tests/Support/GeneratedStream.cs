namespace ConsentFilter.Tests.Support;

/// <summary>A read-only stream of huge generated content, made on the fly: nothing of it is ever held whole in memory or on disk.</summary>
/// <remarks>The content is a sequence of parts, each a byte string repeated a number of times.</remarks>
public sealed class GeneratedStream : Stream
{
    private readonly (byte[] Bytes, long Times)[] _parts;
    private int _part;
    private long _offset;

    /// <param name="parts">Each part's bytes and how many times they repeat.</param>
    public GeneratedStream(params (byte[] Bytes, long Times)[] parts)
    {
        _parts = parts;
        Length = parts.Sum(p => p.Bytes.LongLength * p.Times);
    }

    /// <summary>Bytes handed out so far.</summary>
    public long Delivered { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length { get; }

    public override long Position { get => Delivered; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var written = 0;
        while (written < buffer.Length && _part < _parts.Length)
        {
            var (bytes, times) = _parts[_part];
            var partLength = bytes.LongLength * times;
            if (_offset >= partLength)
            {
                _part++;
                _offset = 0;
                continue;
            }

            var target = buffer[written..];
            var n = (int)Math.Min(target.Length, partLength - _offset);
            if (bytes.Length == 1)
            {
                target[..n].Fill(bytes[0]);
            }
            else
            {
                for (var i = 0; i < n; i++)
                {
                    target[i] = bytes[(int)((_offset + i) % bytes.Length)];
                }
            }

            _offset += n;
            written += n;
        }

        Delivered += written;
        return written;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
