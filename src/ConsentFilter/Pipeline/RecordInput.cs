namespace ConsentFilter.Pipeline;

/// <summary>One input of records: a name for reports and logs, and how to open it.</summary>
public sealed class RecordInput
{
    private readonly Func<CancellationToken, ValueTask<Stream>> _open;

    private RecordInput(string name, Func<CancellationToken, ValueTask<Stream>> open)
    {
        Name = name;
        _open = open;
    }

    /// <summary>The name used in the report, the rejection log and the quarantine.</summary>
    public string Name { get; }

    /// <summary>The file's path, or null for a stream (and <c>-</c> for standard input).</summary>
    public string? Path { get; private init; }

    /// <summary>The records' format; null to detect it from the path and content (<see cref="RecordFormats.Detect"/>).</summary>
    public RecordFormat? Format { get; init; }

    /// <summary>The file operations a columnar adapter uses to open <see cref="Path"/> for random access.</summary>
    internal IO.IFileSystem FileSystem { get; private init; } = IO.PhysicalFileSystem.Instance;

    /// <summary>Digests the stored bytes for the manifest; an adapter that opens <see cref="Path"/> itself must feed it every byte.</summary>
    internal Internal.StreamDigest? ContentDigest { get; private init; }

    /// <summary>Opens the stream; the pipeline disposes it.</summary>
    public ValueTask<Stream> OpenAsync(CancellationToken cancellationToken = default) => _open(cancellationToken);

    /// <summary>A file, decompressed on the fly when it is gzip or zstd (by content or name); <c>-</c> means standard input.</summary>
    public static RecordInput FromFile(string path) => FromFile(path, IO.PhysicalFileSystem.Instance);

    /// <summary>A file whose stored bytes are digested as they are read (for the manifest).</summary>
    internal static RecordInput FromFile(string path, IO.IFileSystem fileSystem, Internal.StreamDigest digest) =>
        new(path, cancellationToken => IO.RecordFiles.OpenReadAsync(path, fileSystem, digest, cancellationToken)) { Path = path, FileSystem = fileSystem, ContentDigest = digest };

    internal static RecordInput FromFile(string path, IO.IFileSystem fileSystem)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new RecordInput(path, cancellationToken => IO.RecordFiles.OpenReadAsync(path, fileSystem, null, cancellationToken)) { Path = path, FileSystem = fileSystem };
    }

    /// <summary>
    /// An already open stream (not decompressed); the pipeline disposes it unless <paramref name="leaveOpen"/>. Its format
    /// is <paramref name="format"/>, else the run's, else read from <paramref name="name"/>'s extension
    /// (<see cref="RecordFormats.FromPath"/>): a stream's content is never sniffed, as that would consume it.
    /// </summary>
    public static RecordInput FromStream(Stream stream, string name, bool leaveOpen = false, RecordFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new RecordInput(name, _ => ValueTask.FromResult(leaveOpen ? new IO.NonClosingStream(stream) : stream)) { Format = format };
    }
}
