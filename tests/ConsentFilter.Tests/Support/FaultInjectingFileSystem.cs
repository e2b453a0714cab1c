using ConsentFilter.IO;

namespace ConsentFilter.Tests.Support;

/// <summary>The file operations a run performs, as counted and failed by <see cref="FaultInjectingFileSystem"/>.</summary>
public enum FileOperation
{
    /// <summary>Opening a records file.</summary>
    Open,

    /// <summary>Creating a temporary output file.</summary>
    Create,

    /// <summary>One read call on a records file.</summary>
    Read,

    /// <summary>One write call on an output file.</summary>
    Write,

    /// <summary>A flush of an output stream, or its flush to disk.</summary>
    Flush,

    /// <summary>A rename.</summary>
    Rename,

    /// <summary>A delete (of a temporary or backup file).</summary>
    Delete,
}

/// <summary>How an injected fault shows itself.</summary>
public enum FaultError
{
    /// <summary>An <see cref="IOException"/> "No space left on device" (ENOSPC, 0x70).</summary>
    DiskFull,

    /// <summary>An <see cref="UnauthorizedAccessException"/> "Permission denied" (EACCES).</summary>
    PermissionDenied,

    /// <summary>An <see cref="IOException"/> "Input/output error" (EIO).</summary>
    IoError,
}

/// <summary>
/// The real file system, with every operation counted, and the N-th operation of one kind failed on demand (SQLite's
/// and FoundationDB's fault injection, FACTS "How trusted systems test").
/// </summary>
/// <remarks>
/// Counting is thread-safe: the pipeline reads and writes on different threads. Per-kind counts are deterministic for
/// a given corpus and options, so a clean run tells the loop how many points there are to fail.
/// </remarks>
internal sealed class FaultInjectingFileSystem : IFileSystem
{
    private readonly IFileSystem _inner = PhysicalFileSystem.Instance;
    private readonly int[] _counts = new int[Enum.GetValues<FileOperation>().Length];
    private int _injected;

    /// <summary>The kind of operation to fail, or null to fail nothing.</summary>
    public FileOperation? FailKind { get; init; }

    /// <summary>The 1-based ordinal, among operations of <see cref="FailKind"/>, of the one to fail.</summary>
    public int FailAt { get; init; }

    /// <summary>Fail every later operation of the kind too (a disk that stays full).</summary>
    public bool Sticky { get; init; }

    /// <summary>What the failure looks like.</summary>
    public FaultError Error { get; init; }

    /// <summary>Text added to every injected message, e.g. the seed, so a failure names its replay.</summary>
    public string Tag { get; init; } = string.Empty;

    /// <summary>Instead of throwing, call this at the chosen operation (e.g. to cancel the run there), then go on.</summary>
    public Action? OnFault { get; init; }

    /// <summary>Wraps each opened records stream (e.g. to cancel after k lines).</summary>
    public Func<Stream, Stream>? DecorateInput { get; init; }

    /// <summary>The exceptions thrown so far by injection.</summary>
    public List<Exception> Injected { get; } = [];

    /// <summary>Whether the chosen operation was reached.</summary>
    public bool Triggered => Volatile.Read(ref _injected) > 0;

    public int Count(FileOperation kind) => Volatile.Read(ref _counts[(int)kind]);

    public Stream OpenRead(string path)
    {
        Hit(FileOperation.Open, path);
        var stream = new FaultStream(this, _inner.OpenRead(path), path);
        return DecorateInput is null ? stream : DecorateInput(stream);
    }

    public Stream CreateNew(string path)
    {
        Hit(FileOperation.Create, path);
        return new FaultStream(this, _inner.CreateNew(path), path);
    }

    public void FlushToDisk(Stream stream)
    {
        var faulty = (FaultStream)stream;
        Hit(FileOperation.Flush, faulty.Path);
        _inner.FlushToDisk(faulty.Inner);
    }

    public bool Exists(string path) => _inner.Exists(path);

    public void Move(string source, string destination, bool overwrite)
    {
        Hit(FileOperation.Rename, destination);
        _inner.Move(source, destination, overwrite);
    }

    public void Delete(string path)
    {
        Hit(FileOperation.Delete, path);
        _inner.Delete(path);
    }

    public void FlushDirectory(string directory) => _inner.FlushDirectory(directory);

    internal void Hit(FileOperation kind, string path)
    {
        var n = Interlocked.Increment(ref _counts[(int)kind]);
        if (kind != FailKind || n < FailAt || (n > FailAt && !Sticky))
        {
            return;
        }

        Interlocked.Increment(ref _injected);
        if (OnFault is { } action)
        {
            action();
            return;
        }

        var where = $"'{System.IO.Path.GetFileName(path)}' [injected: {kind} #{n}{Tag}]";
        Exception fault = Error switch
        {
            FaultError.DiskFull => new IOException($"No space left on device : {where}", unchecked((int)0x80070070)),
            FaultError.PermissionDenied => new UnauthorizedAccessException($"Access to the path {where} is denied."),
            _ => new IOException($"Input/output error : {where}"),
        };
        lock (Injected)
        {
            Injected.Add(fault);
        }

        throw fault;
    }

    /// <summary>A file stream whose reads, writes and flushes are counted and may fail.</summary>
    private sealed class FaultStream(FaultInjectingFileSystem owner, Stream inner, string path) : Stream
    {
        internal Stream Inner => inner;

        internal string Path => path;

        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            owner.Hit(FileOperation.Read, path);
            return inner.Read(buffer);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            owner.Hit(FileOperation.Read, path);
            return inner.ReadAsync(buffer, cancellationToken);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            owner.Hit(FileOperation.Write, path);
            inner.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            owner.Hit(FileOperation.Write, path);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void WriteByte(byte value) => Write([value]);

        public override void Flush()
        {
            owner.Hit(FileOperation.Flush, path);
            inner.Flush();
        }

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            owner.Hit(FileOperation.Flush, path);
            return inner.FlushAsync(cancellationToken);
        }

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

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }
    }
}
