namespace ConsentFilter.IO;

/// <summary>An output written to a temporary file beside its final path and renamed into place only on <see cref="Commit"/>.</summary>
/// <remarks>
/// Disposing without committing deletes the temporary file, so a failed or cancelled run leaves nothing at the final
/// path and an older file there stays untouched. The temporary name starts with a dot and ends in <c>.tmp</c>.
/// </remarks>
public sealed class AtomicFile : IAsyncDisposable, IDisposable
{
    private readonly Stream _stream;
    private readonly IFileSystem _fileSystem;
    private bool _prepared;
    private bool _committed;

    private AtomicFile(string path, string tempPath, string backupPath, Stream stream, IFileSystem fileSystem)
    {
        FinalPath = path;
        TempPath = tempPath;
        BackupPath = backupPath;
        _stream = stream;
        _fileSystem = fileSystem;
    }

    /// <summary>Where the file appears after <see cref="Commit"/>.</summary>
    public string FinalPath { get; }

    /// <summary>Where the bytes are written until then.</summary>
    public string TempPath { get; }

    /// <summary>The stream to write to.</summary>
    public Stream Stream => _stream;

    /// <summary>Where an older file at <see cref="FinalPath"/> waits during a commit, so a failed commit can put it back.</summary>
    internal string BackupPath { get; }

    internal bool IsCommitted => _committed;

    /// <summary>Creates the temporary file (and missing parent directories).</summary>
    public static AtomicFile Create(string path) => Create(path, PhysicalFileSystem.Instance);

    internal static AtomicFile Create(string path, IFileSystem fileSystem)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? ".";
        var unique = $".{Path.GetFileName(full)}.{Guid.NewGuid():N}";
        var temp = Path.Combine(directory, unique + ".tmp");
        var stream = fileSystem.CreateNew(temp);
        return new AtomicFile(full, temp, Path.Combine(directory, unique + ".old"), stream, fileSystem);
    }

    /// <summary>Flushes the bytes to disk, closes the file and renames it to the final path.</summary>
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        await PrepareAsync(cancellationToken).ConfigureAwait(false);
        AtomicCommit.Publish([this], _fileSystem);
    }

    /// <summary>Synchronous form of <see cref="CommitAsync"/>.</summary>
    public void Commit() => CommitAsync().GetAwaiter().GetResult();

    /// <summary>First phase of a commit: the bytes flushed to disk and the file closed; nothing at the final path yet.</summary>
    internal async Task PrepareAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_prepared || _committed, this);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        _fileSystem.FlushToDisk(_stream);
        await _stream.DisposeAsync().ConfigureAwait(false);
        _prepared = true;
    }

    internal void MarkCommitted()
    {
        _committed = true;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_prepared && !_committed)
        {
            try
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                // Closing flushes the buffer; a failing disk must not mask the failure that got us here.
            }
        }

        DeleteTemp();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_prepared && !_committed)
        {
            try
            {
                _stream.Dispose();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                // As in DisposeAsync.
            }
        }

        DeleteTemp();
    }

    private void DeleteTemp()
    {
        if (!_committed)
        {
            AtomicCommit.TryDelete(_fileSystem, TempPath);
        }
    }
}

/// <summary>
/// Publishes a set of prepared <see cref="AtomicFile"/>s all or nothing; the last one is the completion marker
/// (docs/reliability.md, "Commit protocol").
/// </summary>
/// <remarks>
/// Renaming several files cannot be one atomic step, so the commit is a short protocol:
/// <list type="number">
/// <item>Move every older file at a final path aside to its backup name, the marker's first: from here on, no marker
/// at its final path means the set is incomplete.</item>
/// <item>Rename each temporary file into place, the marker last.</item>
/// <item>Flush the directories, then delete the backups.</item>
/// </list>
/// If a rename fails, every file already published by this commit is deleted and every backup moved back, so the final
/// paths hold exactly what they held before; the original exception is then rethrown. Cancellation is not observed:
/// once the first rename happened the commit finishes or rolls back.
/// </remarks>
internal static class AtomicCommit
{
    internal static void Publish(IReadOnlyList<AtomicFile> files, IFileSystem fileSystem)
    {
        var backedUp = new List<AtomicFile>();
        var published = new List<AtomicFile>();
        try
        {
            for (var i = files.Count - 1; i >= 0; i--)
            {
                // Reverse order puts the marker aside first.
                var file = files[i];
                if (fileSystem.Exists(file.FinalPath))
                {
                    fileSystem.Move(file.FinalPath, file.BackupPath, overwrite: false);
                    backedUp.Add(file);
                }
            }

            foreach (var file in files)
            {
                fileSystem.Move(file.TempPath, file.FinalPath, overwrite: true);
                published.Add(file);
            }
        }
        catch (Exception failure)
        {
            Rollback(files, backedUp, published, fileSystem, failure);
            throw;
        }

        foreach (var file in files)
        {
            file.MarkCommitted();
        }

        foreach (var directory in files.Select(f => Path.GetDirectoryName(f.FinalPath) ?? ".").Distinct(StringComparer.Ordinal))
        {
            fileSystem.FlushDirectory(directory);
        }

        foreach (var file in backedUp)
        {
            TryDelete(fileSystem, file.BackupPath);
        }
    }

    internal static bool TryDelete(IFileSystem fileSystem, string path)
    {
        try
        {
            fileSystem.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temporary or backup file never takes a final name.
            return false;
        }
    }

    private static void Rollback(
        IReadOnlyList<AtomicFile> files, List<AtomicFile> backedUp, List<AtomicFile> published, IFileSystem fileSystem, Exception failure)
    {
        var problems = new List<string>();
        foreach (var file in published)
        {
            if (!TryDelete(fileSystem, file.FinalPath))
            {
                problems.Add($"{file.FinalPath} (new file could not be removed)");
            }
        }

        foreach (var file in backedUp)
        {
            try
            {
                fileSystem.Move(file.BackupPath, file.FinalPath, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"{file.FinalPath} (older file left at {file.BackupPath})");
            }
        }

        foreach (var file in files)
        {
            TryDelete(fileSystem, file.TempPath);
        }

        if (problems.Count > 0)
        {
            throw new IOException(
                $"commit failed ({failure.Message}) and could not be fully undone: {string.Join("; ", problems)}", failure);
        }
    }
}
