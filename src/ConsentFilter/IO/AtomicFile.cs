namespace ConsentFilter.IO;

/// <summary>An output written to a temporary file beside its final path and renamed into place only on <see cref="Commit"/>.</summary>
/// <remarks>
/// <para>
/// Disposing without committing deletes the temporary file, so a failed or cancelled run leaves nothing at the final
/// path and an older file there stays untouched. The temporary name starts with a dot and ends in <c>.tmp</c>.
/// </para>
/// <para>
/// A final path that is a device, a named pipe (FIFO) or a socket, or a link to one (<c>/dev/null</c>,
/// <c>/dev/stderr</c>, a FIFO a consumer reads), is written directly and never replaced: such an output cannot be
/// atomic. Its bytes are held back in a buffer (1 MiB) until the commit, so a small output such as a report appears
/// only once the files before it are published; a larger one streams while the run goes on, and the run's exit code
/// and report tell whether it finished.
/// </para>
/// </remarks>
public sealed class AtomicFile : IAsyncDisposable, IDisposable
{
    private const int DirectBufferSize = 1 << 20;

    private static readonly object s_gate = new();
    private static readonly HashSet<AtomicFile> s_pending = [];
    private static bool s_abandoned;

    private readonly Stream _stream;
    private readonly Stream? _directInner;
    private readonly IFileSystem _fileSystem;
    private bool _prepared;
    private bool _committed;

    private AtomicFile(string path, string tempPath, string backupPath, Stream stream, IFileSystem fileSystem, Stream? directInner = null)
    {
        FinalPath = path;
        TempPath = tempPath;
        BackupPath = backupPath;
        _stream = stream;
        _directInner = directInner;
        _fileSystem = fileSystem;
    }

    /// <summary>Where the file appears after <see cref="Commit"/>.</summary>
    public string FinalPath { get; }

    /// <summary>Where the bytes are written until then (the final path itself for a device, FIFO or socket).</summary>
    public string TempPath { get; }

    /// <summary>The stream to write to.</summary>
    public Stream Stream => _stream;

    /// <summary>Where an older file at <see cref="FinalPath"/> waits during a commit, so a failed commit can put it back.</summary>
    internal string BackupPath { get; }

    internal bool IsCommitted => _committed;

    /// <summary>Whether the final path is a device, FIFO or socket, written in place rather than replaced.</summary>
    internal bool IsDirect => _directInner is not null;

    /// <summary>Creates the temporary file (and missing parent directories), or opens a device, FIFO or socket for writing.</summary>
    /// <exception cref="OperationCanceledException">The process is stopping (<see cref="AbandonAllUncommitted"/> was called).</exception>
    public static AtomicFile Create(string path) => Create(path, PhysicalFileSystem.Instance);

    internal static AtomicFile Create(string path, IFileSystem fileSystem)
    {
        var full = Path.GetFullPath(path);
        if (SpecialFiles.OpenForWriting(full) is { } special)
        {
            return new AtomicFile(full, full, full, new BufferedStream(special, DirectBufferSize), fileSystem, special);
        }

        var directory = Path.GetDirectoryName(full) ?? ".";
        var unique = $".{Stem(Path.GetFileName(full))}.{Guid.NewGuid():N}";
        var temp = Path.Combine(directory, unique + ".tmp");
        lock (s_gate)
        {
            ThrowIfAbandoned();
            var stream = fileSystem.CreateNew(temp);
            var file = new AtomicFile(full, temp, Path.Combine(directory, unique + ".old"), stream, fileSystem);
            s_pending.Add(file);
            return file;
        }
    }

    /// <summary>
    /// The final name, cut short (at a character boundary) where the temporary and backup names built on it would pass
    /// the 255 bytes most file systems allow a name: a final name of 218 to 255 bytes is legal, its temporary one not.
    /// </summary>
    internal static string Stem(string fileName)
    {
        // "." + stem + "." + 32 hex digits + ".tmp" (or ".old").
        const int Room = 255 - 38;
        if (System.Text.Encoding.UTF8.GetByteCount(fileName) <= Room)
        {
            return fileName;
        }

        var length = 0;
        var end = 0;
        foreach (var rune in fileName.EnumerateRunes())
        {
            length += rune.Utf8SequenceLength;
            if (length > Room)
            {
                break;
            }

            end += rune.Utf16SequenceLength;
        }

        return fileName[..end];
    }

    /// <summary>
    /// Deletes the temporary file of every <see cref="AtomicFile"/> of this process that is neither committed nor
    /// disposed, after any commit in progress has finished, and makes later creates and commits fail; returns how many
    /// were deleted.
    /// </summary>
    /// <remarks>For a process about to exit on a signal whose run did not stop in time (a read the kernel cannot interrupt).</remarks>
    public static int AbandonAllUncommitted()
    {
        lock (s_gate)
        {
            s_abandoned = true;
            var deleted = 0;
            foreach (var file in s_pending)
            {
                if (AtomicCommit.TryDelete(file._fileSystem, file.TempPath))
                {
                    deleted++;
                }
            }

            s_pending.Clear();
            return deleted;
        }
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
    /// <remarks>A direct (device, FIFO, socket) file keeps its buffered bytes until <see cref="FinishDirect"/>.</remarks>
    internal async Task PrepareAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_prepared || _committed, this);
        if (IsDirect)
        {
            _prepared = true;
            return;
        }

        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        _fileSystem.FlushToDisk(_stream);
        await _stream.DisposeAsync().ConfigureAwait(false);
        _prepared = true;
    }

    /// <summary>Publishes a direct file: writes its held-back bytes and closes it.</summary>
    internal void FinishDirect()
    {
        _stream.Flush();
        _stream.Dispose();
    }

    internal void MarkCommitted()
    {
        _committed = true;
        Forget();
    }

    internal static void ThrowIfAbandoned()
    {
        if (s_abandoned)
        {
            throw new OperationCanceledException("the process is stopping; nothing more is committed");
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_prepared && !_committed && !IsDirect)
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
        if (!_prepared && !_committed && !IsDirect)
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
        if (IsDirect)
        {
            if (!_committed)
            {
                // The held-back bytes are dropped with the buffer: only the device, FIFO or socket is closed.
                CloseDirect();
            }

            return;
        }

        if (!_committed)
        {
            AtomicCommit.TryDelete(_fileSystem, TempPath);
            Forget();
        }
    }

    private void CloseDirect()
    {
        try
        {
            _directInner!.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // A reader that went away: nothing more to say to it.
        }
    }

    private void Forget()
    {
        lock (s_gate)
        {
            s_pending.Remove(this);
        }
    }

    /// <summary>Runs <paramref name="publish"/> while no <see cref="AbandonAllUncommitted"/> can delete what it renames.</summary>
    internal static void Exclusively(Action publish)
    {
        lock (s_gate)
        {
            ThrowIfAbandoned();
            publish();
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
        AtomicFile.Exclusively(() =>
        {
            try
            {
                for (var i = files.Count - 1; i >= 0; i--)
                {
                    // Reverse order puts the marker aside first. A device, FIFO or socket is never moved.
                    var file = files[i];
                    if (!file.IsDirect && fileSystem.Exists(file.FinalPath))
                    {
                        MoveAside(file, backedUp, fileSystem);
                    }
                }

                foreach (var file in files)
                {
                    if (file.IsDirect)
                    {
                        // In order, so a report written to a device or pipe follows the data files it describes.
                        file.FinishDirect();
                    }
                    else
                    {
                        fileSystem.Move(file.TempPath, file.FinalPath, overwrite: true);
                        published.Add(file);
                    }
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
        });

        foreach (var directory in files.Where(f => !f.IsDirect).Select(f => Path.GetDirectoryName(f.FinalPath) ?? ".").Distinct(StringComparer.Ordinal))
        {
            fileSystem.FlushDirectory(directory);
        }

        foreach (var file in backedUp)
        {
            TryDelete(fileSystem, file.BackupPath);
        }
    }

    /// <summary>Moves the older file at a final path to its backup name; a move that fails leaves no copy behind.</summary>
    /// <remarks>
    /// A move that cannot rename may copy (a link or copy, then an unlink of the original): where the unlink is refused
    /// (another user's file in a sticky directory, an immutable file) the move fails with the copy made. The original is
    /// still in place then, so the copy goes; if the original is gone, the copy is the older file and the rollback puts
    /// it back.
    /// </remarks>
    private static void MoveAside(AtomicFile file, List<AtomicFile> backedUp, IFileSystem fileSystem)
    {
        try
        {
            fileSystem.Move(file.FinalPath, file.BackupPath, overwrite: false);
            backedUp.Add(file);
        }
        catch
        {
            if (fileSystem.Exists(file.BackupPath))
            {
                if (fileSystem.Exists(file.FinalPath))
                {
                    TryDelete(fileSystem, file.BackupPath);
                }
                else
                {
                    backedUp.Add(file);
                }
            }

            throw;
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

        foreach (var file in files.Where(f => !f.IsDirect))
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
