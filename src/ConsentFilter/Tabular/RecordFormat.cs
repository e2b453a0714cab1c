namespace ConsentFilter.Tabular;

/// <summary>The form of a records file.</summary>
public enum RecordFormat
{
    /// <summary>JSON Lines (SPEC 2.1), the default for any other name.</summary>
    JsonLines,

    /// <summary>RFC 4180 CSV with a header row (<c>.csv</c>, also <c>.csv.gz</c> and <c>.csv.zst</c>).</summary>
    Csv,

    /// <summary>Apache Parquet (<c>.parquet</c>).</summary>
    Parquet,
}

/// <summary>Tells a records file's form from its name.</summary>
public static class RecordFormats
{
    /// <summary>The form named by the extension, after a <c>.gz</c> or <c>.zst</c> compression suffix; <c>-</c> is JSON Lines.</summary>
    public static RecordFormat FromPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var name = path;
        foreach (var compressed in (string[])[".gz", ".zst"])
        {
            if (name.EndsWith(compressed, StringComparison.OrdinalIgnoreCase))
            {
                name = name[..^compressed.Length];
                break;
            }
        }

        if (name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            return RecordFormat.Csv;
        }

        return path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? RecordFormat.Parquet : RecordFormat.JsonLines;
    }
}
