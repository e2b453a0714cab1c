using Microsoft.Win32.SafeHandles;

namespace ConsentFilter.IO;

/// <summary>Standard output as a stream that fails when its reader has gone away (a closed pipe).</summary>
/// <remarks>
/// .NET's console stream ignores <c>EPIPE</c>, so <c>consentfilter filter --out - | head -1</c> would run to the end and
/// report success for records nobody read. When standard output is a pipe or socket it is written through a
/// <see cref="FileStream"/> on descriptor 1 instead, whose writes fail with an <see cref="IOException"/> (the runtime
/// ignores <c>SIGPIPE</c>). A seekable standard output (a file the shell redirected to) keeps the console stream, which
/// moves the shared file offset as it writes.
/// </remarks>
internal static class StandardOutput
{
    internal const int ErrorDescriptor = 2;

    private const int BrokenPipe = 32; // EPIPE

    /// <summary>Standard output, or standard error for <paramref name="descriptor"/> 2.</summary>
    internal static Stream Open(int descriptor = 1)
    {
        if (!OperatingSystem.IsWindows())
        {
            try
            {
                var file = new FileStream(new SafeFileHandle(descriptor, ownsHandle: false), FileAccess.Write, bufferSize: 0);
                if (!file.CanSeek)
                {
                    return new FailingWrites(file, descriptor == ErrorDescriptor ? "standard error" : "standard output");
                }

                file.Dispose();
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
            {
                // A closed or odd descriptor: the console stream copes with it as before.
            }
        }

        return descriptor == ErrorDescriptor ? Console.OpenStandardError() : Console.OpenStandardOutput();
    }

    /// <summary>Turns a write failure into one line that says what happened.</summary>
    internal static IOException Describe(IOException e, string name = "standard output") =>
        new(e.HResult == BrokenPipe || e.Message.Contains("pipe", StringComparison.OrdinalIgnoreCase)
            ? $"{name} was closed by its reader (broken pipe): what was written to it is incomplete"
            : $"cannot write to {name}: {e.Message}", e);

    private sealed class FailingWrites(FileStream inner, string name) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            try
            {
                inner.Write(buffer);
            }
            catch (IOException e)
            {
                throw Describe(e, name);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw Describe(e, name);
            }
        }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
