using System.IO.Compression;
using System.Runtime.ExceptionServices;
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
            var source = new SourceReadStream(stream);
            return new CheckedReadStream(new GZipInputStream(source) { IsStreamOwner = true }, path, source);
        }

        if (path.EndsWith(".zst", StringComparison.OrdinalIgnoreCase))
        {
            var source = new SourceReadStream(stream);
            return new CheckedReadStream(new ZstdSharp.DecompressionStream(source, leaveOpen: false), path, source);
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
/// <remarks>
/// A failure of the underlying file (a disk error, permission denied, cancellation) is rethrown as it was, not reported
/// as corrupt data: <paramref name="source"/> remembers it, whatever the decompressor wrapped it in.
/// </remarks>
internal sealed class CheckedReadStream(Stream inner, string path, SourceReadStream source) : Internal.ReadOnlyStream
{
    public override int Read(Span<byte> buffer)
    {
        try
        {
            return inner.Read(buffer);
        }
        catch (Exception e) when (e is not (OperationCanceledException or InvalidDataException or OutOfMemoryException))
        {
            source.ThrowIfFailed();
            throw new InvalidDataException($"{path}: corrupt or truncated compressed input ({e.Message})", e);
        }
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>The compressed file under a decompressor: remembers the file's own read failure so it is not mistaken for corruption.</summary>
internal sealed class SourceReadStream(Stream inner) : Internal.ReadOnlyStream
{
    private ExceptionDispatchInfo? _failure;

    /// <summary>Rethrows the file's own failure, if a read of it failed.</summary>
    internal void ThrowIfFailed() => _failure?.Throw();

    public override int Read(Span<byte> buffer)
    {
        try
        {
            return inner.Read(buffer);
        }
        catch (Exception e)
        {
            _failure = ExceptionDispatchInfo.Capture(e);
            throw;
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _failure = ExceptionDispatchInfo.Capture(e);
            throw;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
