using ConsentFilter.Pipeline;

namespace ConsentFilter.Parquet;

/// <summary>Makes Parquet and Arrow IPC records available to <see cref="RecordFilter"/> and the CLI.</summary>
public static class ParquetRecords
{
    /// <summary>
    /// Registers the Parquet adapter (ParquetSharp's Arrow API) and the Arrow IPC adapter (file and stream format);
    /// call once at start, before the first run. Calling it again changes nothing.
    /// </summary>
    public static void Register()
    {
        RecordFormats.Register(ParquetFormat.Instance);
        RecordFormats.Register(ArrowFormat.Instance);
    }
}
