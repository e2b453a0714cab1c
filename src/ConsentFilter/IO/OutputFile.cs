namespace ConsentFilter.IO;

/// <summary>An output that is either an atomically committed file (compressed by extension) or standard output (<c>-</c>).</summary>
internal sealed class OutputFile : IAsyncDisposable
{
    private readonly AtomicFile? _file;
    private bool _prepared;

    private OutputFile(AtomicFile? file, Stream stream)
    {
        _file = file;
        Stream = stream;
    }

    internal Stream Stream { get; }

    /// <summary>The file to publish once prepared; null for standard output, which cannot be withheld.</summary>
    internal AtomicFile? File => _file;

    internal static OutputFile Open(string path, IFileSystem fileSystem, Internal.StreamDigest? digest = null)
    {
        if (path == RecordFiles.StandardStream)
        {
            return new OutputFile(null, new BufferedStream(StandardOutput.Open(), 1 << 20));
        }

        var file = AtomicFile.Create(path, fileSystem);

        // The digest sees the bytes as stored (after compression), so it matches a digest of the committed file.
        Stream sink = digest is null ? file.Stream : new Internal.HashingWriteStream(file.Stream, digest);
        var stream = Compression.OpenWrite(sink, path);
        return new OutputFile(file, stream);
    }

    /// <summary>Finishes the data (compressed trailer included), flushes it to disk and closes it; nothing is published yet.</summary>
    internal async Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (_file is null)
        {
            await Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!ReferenceEquals(Stream, _file.Stream))
        {
            // Writes the compressed trailer; the file itself stays open for the commit to flush and rename.
            _prepared = true;
            await Stream.DisposeAsync().ConfigureAwait(false);
        }

        await _file.PrepareAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_file is null)
        {
            await Stream.FlushAsync().ConfigureAwait(false);
            return;
        }

        if (!_prepared && !_file.IsCommitted && !ReferenceEquals(Stream, _file.Stream))
        {
            try
            {
                // Releases the compressor; what it writes goes to a temporary file that is deleted next.
                await Stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Cleanup after a failure must not replace that failure with its own.
            }
        }

        // Not committed: the temporary file is deleted; nothing reaches the final path.
        await _file.DisposeAsync().ConfigureAwait(false);
    }
}
