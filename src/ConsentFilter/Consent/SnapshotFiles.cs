namespace ConsentFilter.Consent;

/// <summary>Opens a consent snapshot in any form: a compiled file or a Parquet file (each recognised by its signature), or a consent CSV.</summary>
public static class SnapshotFiles
{
    /// <summary>Opens <paramref name="path"/>; a CSV or Parquet file is loaded for <paramref name="purposes"/>.</summary>
    /// <exception cref="DataFileException">Unreadable or invalid, or a compiled file that does not hold every purpose.</exception>
    public static IConsentSnapshot Open(string path, IReadOnlyList<string> purposes)
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
            return ConsentSnapshot.LoadCsv(path, purposes);
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
}
