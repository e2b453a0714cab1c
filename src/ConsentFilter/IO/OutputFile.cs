namespace ConsentFilter.IO;

/// <summary>An output that is either an atomically committed file or standard output (<c>-</c>).</summary>
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

        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".zst", StringComparison.OrdinalIgnoreCase))
        {
            throw new NotSupportedException($"{path}: compressed outputs are not supported yet");
        }

        var file = AtomicFile.Create(path);
        return new OutputFile(file, file.Stream);
    }

    internal async Task CommitAsync(CancellationToken cancellationToken)
    {
        if (_file is null)
        {
            await Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        await _file.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_file is not null)
        {
            await _file.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            await Stream.FlushAsync().ConfigureAwait(false);
        }
    }
}
