namespace ConsentFilter.IO;

/// <summary>An output that is either an atomically committed file (compressed by extension) or standard output (<c>-</c>).</summary>
internal sealed class OutputFile : IAsyncDisposable
{
    private readonly AtomicFile? _file;

    private OutputFile(AtomicFile? file, Stream stream)
    {
        _file = file;
        Stream = stream;
    }

    internal Stream Stream { get; }

    internal static OutputFile Open(string path)
    {
        if (path == RecordFiles.StandardStream)
        {
            return new OutputFile(null, new BufferedStream(Console.OpenStandardOutput(), 1 << 20));
        }

        var file = AtomicFile.Create(path);
        return new OutputFile(file, Compression.OpenWrite(file.Stream, path));
    }

    internal async Task CommitAsync(CancellationToken cancellationToken)
    {
        if (_file is null)
        {
            await Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!ReferenceEquals(Stream, _file.Stream))
        {
            // Writes the compressed trailer; the file itself stays open for the commit to flush and rename.
            await Stream.DisposeAsync().ConfigureAwait(false);
        }

        await _file.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_file is not null)
        {
            // Not committed: the temporary file is deleted; nothing reaches the final path.
            await _file.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            await Stream.FlushAsync().ConfigureAwait(false);
        }
    }
}
