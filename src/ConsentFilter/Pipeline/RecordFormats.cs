using System.Collections.Concurrent;

namespace ConsentFilter.Pipeline;

/// <summary>
/// Picks a records file's format — by an explicit option, else by content (magic bytes), else by name — and holds the
/// format adapters: JSON Lines and CSV are built in; adapter packages register the others
/// (<c>ConsentFilter.Parquet</c>: Parquet and Arrow IPC).
/// </summary>
public static class RecordFormats
{
    private static readonly ConcurrentDictionary<RecordFormat, RecordFormatAdapter> s_adapters = new()
    {
        [RecordFormat.JsonLines] = JsonLinesFormat.Instance,
        [RecordFormat.Csv] = CsvFormat.Instance,
    };

    /// <summary>Whether an adapter for <paramref name="format"/> is available in this process.</summary>
    public static bool IsAvailable(RecordFormat format) => s_adapters.ContainsKey(format);

    /// <summary>The format named by the extension, after a <c>.gz</c> or <c>.zst</c> compression suffix; <c>-</c> and unknown names are JSON Lines.</summary>
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

        var extension = Path.GetExtension(name).ToUpperInvariant();
        return extension switch
        {
            ".CSV" => RecordFormat.Csv,
            ".PARQUET" or ".PQ" => RecordFormat.Parquet,
            ".ARROW" or ".ARROWS" or ".FEATHER" or ".IPC" => RecordFormat.Arrow,
            _ => RecordFormat.JsonLines,
        };
    }

    /// <summary>The format the first bytes of a file announce (Parquet's <c>PAR1</c>, Arrow's <c>ARROW1</c> or stream marker), or null.</summary>
    public static RecordFormat? FromContent(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith("PAR1"u8))
        {
            return RecordFormat.Parquet;
        }

        // An Arrow IPC file starts with "ARROW1"; a stream with the 0xFFFFFFFF continuation marker of its schema message.
        if (head.StartsWith("ARROW1"u8) || head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFF, 0xFF, 0xFF]))
        {
            return RecordFormat.Arrow;
        }

        return null;
    }

    /// <summary>The format of one input: <paramref name="explicitFormat"/> when set, else a regular file's magic bytes, else its name.</summary>
    public static RecordFormat Detect(string path, RecordFormat? explicitFormat = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (explicitFormat is { } chosen)
        {
            return chosen;
        }

        // Only a regular file is sniffed: reading the head of a FIFO or device would block or consume records.
        if (path != IO.RecordFiles.StandardStream && File.Exists(path) && IO.FileStatus.TryGet(path, out var status) && status.Kind == IO.FileKind.Regular)
        {
            Span<byte> head = stackalloc byte[8];
            int read;
            using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None))
            {
                read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            }

            if (FromContent(head[..read]) is { } byContent)
            {
                return byContent;
            }
        }

        return FromPath(path);
    }

    /// <summary>The one format of a run's inputs, all of which go to one output.</summary>
    /// <exception cref="DataFileException">The inputs mix formats, or a format's adapter is not available.</exception>
    internal static RecordFormatAdapter ForRun(IReadOnlyList<RecordInput> inputs, RecordFormat? explicitFormat)
    {
        RecordFormat? format = null;
        string? first = null;
        foreach (var input in inputs)
        {
            // A stream has no content to sniff without consuming it, but its name still tells (records.csv, part-0.parquet).
            var this_ = input.Format ?? (input.Path is { } path ? Detect(path, explicitFormat) : explicitFormat ?? FromPath(input.Name));
            if (format is { } seen && seen != this_)
            {
                throw new DataFileException(input.Name, 0, 0,
                    $"is {Name(this_)} but {first} is {Name(seen)}: inputs into one output must share one format (run each format separately, or use an output directory)");
            }

            format = this_;
            first ??= input.Name;
        }

        return Adapter(format ?? explicitFormat ?? RecordFormat.JsonLines, first ?? "records");
    }

    /// <summary>The adapter of <paramref name="format"/>.</summary>
    /// <exception cref="DataFileException">No adapter for the format is registered.</exception>
    internal static RecordFormatAdapter Adapter(RecordFormat format, string source) =>
        s_adapters.TryGetValue(format, out var adapter) ? adapter
        : throw new DataFileException(source, 0, 0,
            $"{Name(format)} records need the ConsentFilter.Parquet adapter package (reference it and call ParquetRecords.Register())");

    /// <summary>Makes an adapter available (adapter packages call this from their registration method).</summary>
    internal static void Register(RecordFormatAdapter adapter) => s_adapters[adapter.Format] = adapter;

    /// <summary>The format's name as messages and the report spell it.</summary>
    public static string Name(RecordFormat format) => format switch
    {
        RecordFormat.JsonLines => "jsonl",
        RecordFormat.Csv => "csv",
        RecordFormat.Parquet => "parquet",
        RecordFormat.Arrow => "arrow",
        _ => format.ToString(),
    };
}
