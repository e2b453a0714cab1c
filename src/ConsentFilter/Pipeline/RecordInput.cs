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

    /// <summary>Opens the stream; the pipeline disposes it.</summary>
    public ValueTask<Stream> OpenAsync(CancellationToken cancellationToken = default) => _open(cancellationToken);

    /// <summary>A file, decompressed on the fly when it is gzip or zstd (by content or name); <c>-</c> means standard input.</summary>
    public static RecordInput FromFile(string path) => FromFile(path, IO.PhysicalFileSystem.Instance);

    /// <summary>A file whose stored bytes are hashed as they are read (for the manifest).</summary>
    internal static RecordInput FromFile(string path, IO.IFileSystem fileSystem, System.Security.Cryptography.IncrementalHash hash) =>
        new(path, cancellationToken => IO.RecordFiles.OpenReadAsync(path, fileSystem, hash, cancellationToken));

    internal static RecordInput FromFile(string path, IO.IFileSystem fileSystem)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new RecordInput(path, cancellationToken => IO.RecordFiles.OpenReadAsync(path, fileSystem, null, cancellationToken));
    }

    /// <summary>An already open stream (not decompressed); the pipeline disposes it unless <paramref name="leaveOpen"/>.</summary>
    public static RecordInput FromStream(Stream stream, string name, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new RecordInput(name, _ => ValueTask.FromResult(leaveOpen ? new IO.NonClosingStream(stream) : stream));
    }
}
