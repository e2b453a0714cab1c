namespace ConsentFilter.Pipeline;

/// <summary>The form of a records file.</summary>
public enum RecordFormat
{
    /// <summary>JSON Lines (SPEC 2.1).</summary>
    JsonLines,

    /// <summary>RFC 4180 CSV with a header row.</summary>
    Csv,

    /// <summary>Apache Parquet (needs the <c>ConsentFilter.Parquet</c> adapter package).</summary>
    Parquet,

    /// <summary>Apache Arrow IPC, file or stream (needs the <c>ConsentFilter.Parquet</c> adapter package).</summary>
    Arrow,
}
