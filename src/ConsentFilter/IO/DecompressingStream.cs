using System.Buffers;
using System.Runtime.InteropServices;

namespace ConsentFilter.IO;

/// <summary>
/// The shared half of the gzip and zstd decoders: a window over the compressed file that knows each byte's offset, so
/// an error names the file and where in it, and so the decoder sees exactly where its data ends.
/// </summary>
/// <remarks>
/// The compressed file is read synchronously, as the decoders are. A failure of the file itself (a disk error, permission
/// denied) comes from <see cref="FillMore"/> and propagates as it is, never reported as corrupt data.
/// </remarks>
internal abstract class DecompressingStream : Internal.ReadOnlyStream
{
    private const int WindowSize = 1 << 17;

    private readonly Stream _source;
    private long _windowStart;
    private bool _disposed;

    protected DecompressingStream(Stream source, string path)
    {
        _source = source;
        Path = path;
        Window = ArrayPool<byte>.Shared.Rent(WindowSize);
    }

    /// <summary>The input's name, for messages.</summary>
    protected string Path { get; }

    /// <summary>Compressed bytes; <see cref="Pos"/> to <see cref="End"/> are read but not yet decoded.</summary>
    protected byte[] Window { get; }

    /// <summary>The next compressed byte to decode, in <see cref="Window"/>.</summary>
    protected int Pos { get; set; }

    /// <summary>The end of the compressed bytes read into <see cref="Window"/>.</summary>
    protected int End { get; private set; }

    /// <summary>Offset in the file of <see cref="Pos"/>.</summary>
    protected long Offset => _windowStart + Pos;

    /// <summary>The format's name in reports: <c>gzip</c> or <c>zstd</c>.</summary>
    internal abstract CompressionFormat Format { get; }

    /// <summary>Whether every byte decoded so far was covered by a checksum that matched; meaningful once read to the end.</summary>
    internal abstract bool Checksummed { get; }

    /// <summary>Decodes into <paramref name="buffer"/>; 0 only at the clean end of the file.</summary>
    protected abstract int Decode(byte[] buffer, int offset, int count);

    public sealed override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length, 1 << 16));
        try
        {
            var n = Decode(scratch, 0, Math.Min(buffer.Length, scratch.Length));
            scratch.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    public sealed override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return ValueTask.FromResult(0);
        }

        // The pipeline reads into arrays: decode straight into them.
        return MemoryMarshal.TryGetArray<byte>(buffer, out var array)
            ? ValueTask.FromResult(Decode(array.Array!, array.Offset, array.Count))
            : ValueTask.FromResult(Read(buffer.Span));
    }

    /// <summary>Makes at least <paramref name="count"/> bytes available from <see cref="Pos"/>; false when the file ends first.</summary>
    protected bool EnsureAvailable(int count)
    {
        while (End - Pos < count)
        {
            if (!FillMore())
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Keeps the undecoded bytes and reads more of the file after them; false at the end of the file.</summary>
    protected bool FillMore()
    {
        if (Pos > 0)
        {
            Window.AsSpan(Pos, End - Pos).CopyTo(Window);
            _windowStart += Pos;
            End -= Pos;
            Pos = 0;
        }

        var n = _source.Read(Window, End, Window.Length - End);
        End += n;
        return n > 0;
    }

    /// <summary>The error for data that ends before the format says it may.</summary>
    protected InvalidDataException Truncated(string where) =>
        new($"{Path}: truncated {Compression.Name(Format)} input: the file ends at offset {_windowStart + End} {where}");

    /// <summary>The error for bytes the format does not allow.</summary>
    protected InvalidDataException Corrupt(long offset, string what, Exception? inner = null) =>
        new($"{Path}: corrupt {Compression.Name(Format)} input at offset {offset}: {what}", inner);

    protected override void Dispose(bool disposing)
    {
        if (!_disposed)
        {
            _disposed = true;
            ReleaseDecoder();
            if (disposing)
            {
                ArrayPool<byte>.Shared.Return(Window);
                _source.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>Frees the decoder's own resources (called once, also from a finalizer).</summary>
    protected virtual void ReleaseDecoder()
    {
    }
}
