using System.IO.Compression;
using ICSharpCode.SharpZipLib.GZip;

namespace ConsentFilter.IO;

/// <summary>Compression chosen by file extension: <c>.gz</c> and <c>.zst</c>, with truncation detected on input.</summary>
/// <remarks>
/// .NET's <see cref="GZipStream"/> returns partial data without error for a cut file, so gzip input is read with
/// SharpZipLib, which checks every member's CRC-32 and size trailer and reads concatenated members. Output uses the
/// runtime's native gzip. Zstandard uses ZstdSharp, whose decompression stream fails on a frame that ends early (tested).
/// </remarks>
public static class Compression
{
    /// <summary>Wraps <paramref name="stream"/> to decompress according to <paramref name="path"/>'s extension.</summary>
    public static Stream OpenRead(Stream stream, string path)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            return new CheckedReadStream(new GZipInputStream(stream) { IsStreamOwner = true }, path);
        }

        if (path.EndsWith(".zst", StringComparison.OrdinalIgnoreCase))
        {
            return new CheckedReadStream(new ZstdSharp.DecompressionStream(stream, leaveOpen: false), path);
        }

        return stream;
    }

    /// <summary>Wraps <paramref name="stream"/> to compress according to <paramref name="path"/>'s extension.</summary>
    /// <remarks>The wrapper leaves <paramref name="stream"/> open: dispose the wrapper to finish the data, then the stream.</remarks>
    public static Stream OpenWrite(Stream stream, string path)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            return new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
        }

        if (path.EndsWith(".zst", StringComparison.OrdinalIgnoreCase))
        {
            return new ZstdSharp.CompressionStream(stream, level: 3, leaveOpen: true);
        }

        return stream;
    }
}

/// <summary>Turns a decompressor's own exceptions into one clear <see cref="InvalidDataException"/> naming the file.</summary>
internal sealed class CheckedReadStream(Stream inner, string path) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        try
        {
            return inner.Read(buffer);
        }
        catch (Exception e) when (e is not (OperationCanceledException or InvalidDataException or OutOfMemoryException))
        {
            throw new InvalidDataException($"{path}: corrupt or truncated compressed input ({e.Message})", e);
        }
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

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
