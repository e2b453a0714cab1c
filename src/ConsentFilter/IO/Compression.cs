using System.IO.Compression;

namespace ConsentFilter.IO;

/// <summary>
/// Compression of record files: <c>.gz</c> and <c>.zst</c>, recognised on input by their magic bytes as well as by name,
/// read to their end with truncation, corruption and trailing bytes detected.
/// </summary>
/// <remarks>
/// Input is decoded by <see cref="GzipReadStream"/> and <see cref="ZstdReadStream"/>, which see every byte of the file, so a
/// cut file, a bad checksum or bytes after the last member or frame fail the read with the file and the byte offset
/// (docs/reliability.md, "Compressed inputs"). Output uses the runtime's native gzip and ZstdSharp.
/// </remarks>
public static class Compression
{
    /// <summary>How many leading bytes <see cref="OpenRead"/> looks at.</summary>
    internal const int PeekLength = 4;

    /// <summary>
    /// Wraps <paramref name="stream"/> to decompress it when its content starts with the gzip or zstd magic bytes, whatever
    /// <paramref name="path"/> is called; plain content is returned as it is (after a one-time peek).
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// <paramref name="path"/> ends in <c>.gz</c> or <c>.zst</c> but the content does not start with that format's magic
    /// bytes (an empty file included). Reading the returned stream throws it too for a truncated or corrupt stream, or
    /// for bytes after the last gzip member or zstd frame.
    /// </exception>
    public static Stream OpenRead(Stream stream, string path)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(path);
        Span<byte> head = stackalloc byte[PeekLength];
        var count = stream.ReadAtLeast(head, PeekLength, throwOnEndOfStream: false);
        return Wrap(stream, head[..count], path);
    }

    /// <summary>As <see cref="OpenRead"/>, peeking asynchronously (standard input or a pipe may not have its first bytes yet).</summary>
    internal static async ValueTask<Stream> OpenReadAsync(Stream stream, string path, CancellationToken cancellationToken)
    {
        var head = new byte[PeekLength];
        var count = await stream.ReadAtLeastAsync(head, PeekLength, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return Wrap(stream, head.AsSpan(0, count), path);
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
            // With a content checksum, as the zstd tool writes by default, so a later read of this output is checked end to end.
            var zstd = new ZstdSharp.CompressionStream(stream, level: 3, leaveOpen: true);
            zstd.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
            return zstd;
        }

        return stream;
    }

    /// <summary>The compression a file's first bytes announce: gzip (<c>1f 8b</c>), zstd (<c>28 b5 2f fd</c>, or a skippable frame), or none.</summary>
    internal static CompressionFormat Detect(ReadOnlySpan<byte> head)
    {
        if (head is [0x1f, 0x8b, ..])
        {
            return CompressionFormat.Gzip;
        }

        if (head.Length >= 4)
        {
            var magic = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(head);
            if (magic == ZstdReadStream.FrameMagic || (magic & ZstdReadStream.SkippableMask) == ZstdReadStream.SkippableMagic)
            {
                return CompressionFormat.Zstd;
            }
        }

        return CompressionFormat.None;
    }

    /// <summary>The compression <paramref name="path"/>'s extension names.</summary>
    internal static CompressionFormat FromName(string path) =>
        path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? CompressionFormat.Gzip
        : path.EndsWith(".zst", StringComparison.OrdinalIgnoreCase) ? CompressionFormat.Zstd
        : CompressionFormat.None;

    /// <summary>Fails when a consent or jurisdiction file is compressed, by its first bytes or its name: those are read as plain CSV only.</summary>
    /// <exception cref="DataFileException">The file is compressed.</exception>
    internal static void ThrowIfCompressed(ReadOnlySpan<byte> head, string path, string what)
    {
        var format = Detect(head);
        if (format == CompressionFormat.None)
        {
            format = FromName(path);
        }

        if (format != CompressionFormat.None)
        {
            throw new DataFileException(path, 0, 0, $"the {what} is {Name(format)}-compressed (by its {(Detect(head) == format ? "content" : "name")}); a {what} is read as plain CSV only: decompress it first");
        }
    }

    /// <summary>The name used in reports and messages: <c>none</c>, <c>gzip</c> or <c>zstd</c>.</summary>
    internal static string Name(CompressionFormat format) => format switch
    {
        CompressionFormat.Gzip => "gzip",
        CompressionFormat.Zstd => "zstd",
        _ => "none",
    };

    private static Stream Wrap(Stream stream, ReadOnlySpan<byte> head, string path)
    {
        var byContent = Detect(head);
        var byName = FromName(path);
        if (byName != CompressionFormat.None && byContent != byName)
        {
            var magic = byName == CompressionFormat.Gzip ? "1f 8b" : "28 b5 2f fd";
            var found = head.IsEmpty ? "the file is empty" : $"it starts with {Convert.ToHexString(head).ToLowerInvariant()}";
            throw new InvalidDataException(
                $"{path}: the name says {Name(byName)} but the content does not start with the {Name(byName)} magic bytes {magic} ({found}); rename the file if it is not compressed");
        }

        if (byContent == CompressionFormat.None)
        {
            return Unpeek(stream, head);
        }

        // The decoders read the peeked bytes again: rewind, or replay them in front of a stream that cannot seek.
        var source = Unpeek(stream, head);
        return byContent == CompressionFormat.Gzip ? new GzipReadStream(source, path) : new ZstdReadStream(source, path);
    }

    private static Stream Unpeek(Stream stream, ReadOnlySpan<byte> head)
    {
        if (head.IsEmpty)
        {
            return stream;
        }

        if (stream.CanSeek)
        {
            stream.Seek(-head.Length, SeekOrigin.Current);
            return stream;
        }

        return new PrefixedReadStream(head.ToArray(), stream);
    }
}

/// <summary>A compression format of record files.</summary>
internal enum CompressionFormat
{
    /// <summary>Plain bytes.</summary>
    None,

    /// <summary>gzip (RFC 1952), one or more members.</summary>
    Gzip,

    /// <summary>Zstandard (RFC 8878), one or more frames.</summary>
    Zstd,
}

/// <summary>Replays bytes already read from a stream that cannot seek, then reads on from that stream.</summary>
/// <remarks>One branch per read call, not per byte: the price of peeking at standard input or a hashing stream.</remarks>
internal sealed class PrefixedReadStream(byte[] prefix, Stream inner) : Internal.ReadOnlyStream
{
    private int _prefixPos;

    public override int Read(Span<byte> buffer)
    {
        if (_prefixPos < prefix.Length && !buffer.IsEmpty)
        {
            return TakePrefix(buffer);
        }

        return inner.Read(buffer);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_prefixPos < prefix.Length && !buffer.IsEmpty)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult(TakePrefix(buffer.Span));
        }

        return inner.ReadAsync(buffer, cancellationToken);
    }

    private int TakePrefix(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, prefix.Length - _prefixPos);
        prefix.AsSpan(_prefixPos, n).CopyTo(buffer);
        _prefixPos += n;
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
