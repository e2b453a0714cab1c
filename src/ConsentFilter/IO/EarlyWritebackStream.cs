using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ConsentFilter.IO;

/// <summary>
/// A new output file that asks Linux to start writing its dirty pages to the device as it grows, so the commit's
/// <c>fsync</c> waits only for the tail instead of the whole file (measured: 0.06 s of a 0.6 s run for 250 MB).
/// </summary>
/// <remarks>
/// <c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c> only starts writeback; it is advice, not durability: the commit
/// still flushes with <c>fsync</c> (<see cref="PhysicalFileSystem.FlushToDisk"/>), and any failure of the advice is
/// ignored. Every other operation is the inner <see cref="FileStream"/>'s.
/// </remarks>
internal sealed partial class EarlyWritebackStream(FileStream inner) : Stream
{
    /// <summary>Bytes written between two writeback requests.</summary>
    internal const long Interval = 16 * 1024 * 1024;

    private const uint SyncFileRangeWrite = 2;

    private long _requested;
    private bool _unsupported;

    internal FileStream Inner => inner;

    public override bool CanRead => false;

    public override bool CanSeek => inner.CanSeek;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => inner.Length;

    public override long Position { get => inner.Position; set => inner.Position = value; }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        RequestWriteback();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        RequestWriteback();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void SetLength(long value) => inner.SetLength(value);

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

    /// <summary>Once another <see cref="Interval"/> has reached the kernel, asks for it to be written back.</summary>
    private void RequestWriteback()
    {
        // Bytes still in FileStream's own buffer are not in the kernel yet; they go with a later request or the fsync.
        var inKernel = inner.Position - Interval;
        if (_unsupported || inKernel - _requested < Interval)
        {
            return;
        }

        try
        {
            if (NativeMethods.SyncFileRange(inner.SafeFileHandle, _requested, inKernel - _requested, SyncFileRangeWrite) != 0)
            {
                _unsupported = true; // e.g. a file system or pipe that does not support it: the fsync alone will do
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unsupported = true;
        }

        _requested = inKernel;
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static partial int SyncFileRange(SafeFileHandle fd, long offset, long nbytes, uint flags);
    }
}
