namespace ConsentFilter.IO;

/// <summary>An output written to a temporary file beside its final path and renamed into place only on <see cref="Commit"/>.</summary>
/// <remarks>
/// Disposing without committing deletes the temporary file, so a failed or cancelled run leaves nothing at the final
/// path and an older file there stays untouched. The temporary name starts with a dot and ends in <c>.tmp</c>.
/// </remarks>
public sealed class AtomicFile : IAsyncDisposable, IDisposable
{
    private readonly FileStream _stream;
    private bool _committed;

    private AtomicFile(string path, string tempPath, FileStream stream)
    {
        FinalPath = path;
        TempPath = tempPath;
        _stream = stream;
    }

    /// <summary>Where the file appears after <see cref="Commit"/>.</summary>
    public string FinalPath { get; }

    /// <summary>Where the bytes are written until then.</summary>
    public string TempPath { get; }

    /// <summary>The stream to write to.</summary>
    public Stream Stream => _stream;

    /// <summary>Creates the temporary file (and missing parent directories).</summary>
    public static AtomicFile Create(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
        return new AtomicFile(full, temp, stream);
    }

    /// <summary>Flushes the bytes to disk, closes the file and renames it to the final path.</summary>
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        _stream.Flush(flushToDisk: true);
        await _stream.DisposeAsync().ConfigureAwait(false);
        File.Move(TempPath, FinalPath, overwrite: true);
        _committed = true;
    }

    /// <summary>Synchronous form of <see cref="CommitAsync"/>.</summary>
    public void Commit() => CommitAsync().GetAwaiter().GetResult();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        DeleteTemp();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stream.Dispose();
        DeleteTemp();
    }

    private void DeleteTemp()
    {
        if (_committed)
        {
            return;
        }

        try
        {
            File.Delete(TempPath);
        }
        catch (IOException)
        {
            // Best effort: a leftover temporary file never takes the final name.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
