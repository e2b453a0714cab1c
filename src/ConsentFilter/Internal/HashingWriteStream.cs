namespace ConsentFilter.Internal;

/// <summary>A write-only pass-through that hands every byte written to a <see cref="StreamDigest"/>; it never closes the inner stream.</summary>
/// <remarks>
/// Bytes are written first and hashed after: the write (the kernel's sequential copy) brings a batch that another core
/// produced into this core's cache, where BLAKE3's sixteen interleaved reads then hit; hashed first, those reads missed
/// (measured below in docs/performance.md, session 8). A failed write throws before hashing, a failed hash poisons the
/// digest: either way the run fails and no manifest is written.
/// </remarks>
internal sealed class HashingWriteStream(Stream inner, StreamDigest digest) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        digest.Append(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        await digest.AppendAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
