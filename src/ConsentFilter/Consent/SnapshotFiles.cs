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
