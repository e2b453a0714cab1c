namespace ConsentFilter.Consent;

/// <summary>Opens a consent snapshot in any form: a compiled file or a Parquet file (each recognised by its signature), or a consent CSV.</summary>
public static class SnapshotFiles
{
    /// <summary>
    /// A consent CSV at least this large (about 3.7 million users at 69 bytes a row) is compiled through a temporary file
    /// in bounded memory and mapped, instead of being loaded into a dictionary (~500 bytes a user while loading).
    /// </summary>
    internal const long CompileThroughDiskBytes = 256L << 20;

    /// <summary>The memory budget of that compilation: the run that follows keeps the rest of a 1 GiB machine share.</summary>
    internal const long CompileThroughDiskBudget = 512L << 20;

    /// <summary>Opens <paramref name="path"/>; a CSV or Parquet file is loaded for <paramref name="purposes"/>.</summary>
    /// <exception cref="DataFileException">Unreadable or invalid, or a compiled file that does not hold every purpose.</exception>
    public static IConsentSnapshot Open(string path, IReadOnlyList<string> purposes) => Open(path, purposes, CompileThroughDiskBytes);

    /// <summary>
    /// As <see cref="Open(string, IReadOnlyList{string})"/>, for a snapshot only searched by id (a filter run): a smaller
    /// consent CSV is compiled in memory with its rows read on every core (<see cref="ConsentCsvParallelCompiler"/>)
    /// instead of being loaded row by row.
    /// </summary>
    internal static IConsentSnapshot OpenForLookups(string path, IReadOnlyList<string> purposes) => Open(path, purposes, CompileThroughDiskBytes, forLookups: true);

    /// <summary>As <see cref="Open(string, IReadOnlyList{string})"/>, compiling a CSV of at least <paramref name="compileThroughDiskBytes"/> through a temporary file.</summary>
    internal static IConsentSnapshot Open(string path, IReadOnlyList<string> purposes, long compileThroughDiskBytes, bool forLookups = false)
    {
        ArgumentNullException.ThrowIfNull(purposes);
        if (SpoolIfStream(path) is { } spooled)
        {
            return OpenSpooled(path, spooled, purposes, compileThroughDiskBytes, forLookups);
        }

        bool compiled;
        bool parquet;
        try
        {
            compiled = CompiledSnapshot.IsCompiled(path);
            parquet = !compiled && ConsentParquetLoader.IsParquet(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, 0, 0, $"cannot read consent snapshot: {e.Message}", e);
        }

        if (parquet)
        {
            return ConsentParquetLoader.LoadFile(path, purposes, null);
        }

        if (!compiled)
        {
            return (IConsentSnapshot?)LargeCsv(path, purposes, compileThroughDiskBytes)
                ?? (forLookups ? (IConsentSnapshot?)ConsentCsvParallelCompiler.TryCompile(path, purposes, compileThroughDiskBytes - 1) : null)
                ?? ConsentSnapshot.LoadCsv(path, purposes);
        }

        var snapshot = CompiledSnapshot.Open(path);
        foreach (var purpose in purposes)
        {
            if (!snapshot.Purposes.Contains(purpose, StringComparer.OrdinalIgnoreCase))
            {
                snapshot.Dispose();
                throw new DataFileException(path, 0, 0, $"the compiled snapshot does not hold purpose '{purpose}' (it holds: {string.Join(", ", snapshot.Purposes)})");
            }
        }

        return snapshot;
    }

    /// <summary>
    /// A consent source that cannot be read twice (a pipe, a FIFO, <c>/dev/stdin</c>, <c>&lt;(psql … COPY … TO STDOUT)</c>)
    /// copied once to a private temporary file, which every form's reader can probe, map or read on every core; null
    /// for a file that can (a regular file, and what cannot be opened: the regular path reports that).
    /// </summary>
    private static string? SpoolIfStream(string path)
    {
        FileStream source;
        try
        {
            source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        using (source)
        {
            if (source.CanSeek)
            {
                return null;
            }

            var directory = Directory.CreateTempSubdirectory("consentfilter-consent-").FullName;
            // The source's own name, so a name that says compressed still refuses as it would for a file.
            var name = Path.GetFileName(path);
            var file = Path.Combine(directory, name.Length > 0 ? name : "consent");
            try
            {
                using var copy = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                source.CopyTo(copy, 1 << 20);
                return file;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                DeleteDirectory(directory);
                throw new DataFileException(path, 0, 0, $"cannot read consent snapshot: {e.Message}", e);
            }
        }
    }

    /// <summary>Opens the spooled copy of <paramref name="path"/>: the snapshot and its errors name <paramref name="path"/>, and the copy is removed.</summary>
    private static IConsentSnapshot OpenSpooled(string path, string copy, IReadOnlyList<string> purposes, long compileThroughDiskBytes, bool forLookups)
    {
        try
        {
            var opened = Open(copy, purposes, compileThroughDiskBytes, forLookups);
            switch (opened)
            {
                case ConsentSnapshot loaded:
                    return new ConsentSnapshot((Dictionary<byte[], UserConsent>)loaded.Users, loaded.Purposes, loaded.Info with { Source = path });
                case CompiledSnapshot compiled when CompiledSnapshot.IsCompiled(copy):
                    // A compiled file maps the copy itself: the snapshot keeps it until disposed.
                    var info = compiled.Info with { Source = path };
                    compiled.Dispose();
                    return CompiledSnapshot.OpenTemporary(copy, info);
                case CompiledSnapshot compiled:
                    compiled.Relabel(compiled.Info with { Source = path });
                    return compiled;
                default:
                    return opened;
            }
        }
        catch (DataFileException e) when (e.File == copy)
        {
            throw new DataFileException(path, e.Line, e.Column, e.Problem, e.InnerException);
        }
        finally
        {
            DeleteDirectory(Path.GetDirectoryName(copy)!);
        }
    }

    private static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Where a mapped file cannot be deleted (Windows), the snapshot deletes it when disposed.
        }
    }

    /// <summary>
    /// A large CSV compiled into a temporary snapshot (system temp directory) and mapped; its <see cref="SnapshotInfo"/>
    /// names the CSV. Null when the CSV is small, or does not fit the compiled format (then it is loaded as before).
    /// </summary>
    private static CompiledSnapshot? LargeCsv(string path, IReadOnlyList<string> purposes, long threshold)
    {
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        if (length < threshold || purposes.Count > CompiledSnapshotFormat.MaxPurposes)
        {
            return null;
        }

        var directory = Directory.CreateTempSubdirectory("consentfilter-csv-").FullName;
        try
        {
            var file = Path.Combine(directory, "consent.snap");
            CompiledSnapshotBuilder.BuildFromCsv(path, file, purposes, new SnapshotBuildOptions { MemoryBudget = CompileThroughDiskBudget, TemporaryDirectory = directory });
            using var probe = CompiledSnapshot.Open(file, verifyChecksum: false);
            var info = probe.Info with { Source = path, Form = SnapshotForm.Csv };
            probe.Dispose();
            return CompiledSnapshot.OpenTemporary(file, info);
        }
        catch (CompiledSnapshotBuilder.RegionSetOverflowException)
        {
            return null;
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Where a mapped file cannot be deleted (Windows), the snapshot deletes it when disposed.
            }
        }
    }
}
