using System.Globalization;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>What a run did: counts that add up (records = kept + dropped + quarantined), inputs, and fingerprints.</summary>
public sealed class FilterReport
{
    /// <summary>The schema name written in every report.</summary>
    public const string Schema = "consentfilter.report/v1";

    internal FilterReport(
        ConsentPolicy policy,
        ConsentFilterOptions options,
        IReadOnlyList<RecordInput> inputs,
        RunCounts[] perInput,
        InputContent[] contents,
        DateTimeOffset startedAt,
        TimeSpan elapsed)
    {
        Purpose = policy.Purpose;
        Snapshot = policy.Snapshot.Info;
        Jurisdictions = policy.Jurisdictions;
        Options = options;
        StartedAt = startedAt;
        Elapsed = elapsed;
        Totals = new RunCounts();
        var files = new List<InputReport>(inputs.Count);
        for (var i = 0; i < inputs.Count; i++)
        {
            Totals.Add(perInput[i]);
            files.Add(new InputReport(inputs[i].Name, perInput[i])
            {
                Compression = IO.Compression.Name(contents[i].Compression),
                Checksummed = contents[i].Checksummed,
            });
        }

        Inputs = files;
    }

    /// <summary>The output summary (user/region pairs of kept and dropped records), when the run collected it for a manifest.</summary>
    internal OutputSummary? Summary { get; init; }

    /// <summary>Whether the run finished; a report object only exists for finished runs.</summary>
    public bool Complete => true;

    /// <summary>The purpose filtered for.</summary>
    public string Purpose { get; }

    /// <summary>Counts over all inputs.</summary>
    public RunCounts Totals { get; }

    /// <summary>Counts per input, in the order given.</summary>
    public IReadOnlyList<InputReport> Inputs { get; }

    /// <summary>The consent snapshot used.</summary>
    public SnapshotInfo Snapshot { get; }

    /// <summary>The jurisdiction table used.</summary>
    public JurisdictionTable Jurisdictions { get; }

    /// <summary>The options of the run.</summary>
    public ConsentFilterOptions Options { get; }

    /// <summary>When the run started (UTC).</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Wall time of the run.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Whether records == kept + dropped + quarantined, overall and per input.</summary>
    public bool IsConserved => Totals.Records == Totals.Kept + Totals.DroppedTotal + Totals.QuarantinedTotal
        && Inputs.All(i => i.Counts.Records == i.Counts.Kept + i.Counts.DroppedTotal + i.Counts.QuarantinedTotal)
        && Inputs.Sum(i => i.Counts.Records) == Totals.Records;

    /// <summary>Writes the report as indented JSON (schema <see cref="Schema"/>).</summary>
    public void WriteJson(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("schema", Schema);
        json.WriteBoolean("complete", Complete);
        json.WriteString("purpose", Purpose);
        json.WriteNumber("records", Totals.Records);
        json.WriteNumber("kept", Totals.Kept);
        json.WriteStartObject("dropped");
        json.WriteNumber("total", Totals.DroppedTotal);
        json.WriteStartObject("by_reason");
        foreach (var reason in DropReasonNames.All)
        {
            json.WriteNumber(reason.ToName(), Totals.Dropped(reason));
        }

        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteStartObject("quarantined");
        json.WriteNumber("total", Totals.QuarantinedTotal);
        json.WriteStartObject("by_error");
        foreach (var kind in MalformedKindNames.All)
        {
            json.WriteNumber(kind.ToName(), Totals.Quarantined(kind));
        }

        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteStartObject("by_region");
        foreach (var (code, counts) in Totals.ByRegion.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            json.WriteStartObject(code);
            json.WriteNumber("kept", counts.Kept);
            json.WriteNumber("dropped", counts.Dropped);
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteNumber("blank_lines", Totals.BlankLines);
        json.WriteStartArray("inputs");
        foreach (var input in Inputs)
        {
            json.WriteStartObject();
            json.WriteString("path", input.Path);
            json.WriteNumber("records", input.Counts.Records);
            json.WriteNumber("bytes", input.Counts.Bytes);
            json.WriteNumber("kept", input.Counts.Kept);
            json.WriteNumber("dropped", input.Counts.DroppedTotal);
            json.WriteNumber("quarantined", input.Counts.QuarantinedTotal);
            json.WriteNumber("blank_lines", input.Counts.BlankLines);
            json.WriteString("compression", input.Compression);
            json.WriteBoolean("checksummed", input.Checksummed);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartObject("snapshot");
        json.WriteString("source", Snapshot.Source);
        json.WriteString("form", Snapshot.Form == SnapshotForm.Compiled ? "compiled" : "csv");
        json.WriteString("sha256", Snapshot.Sha256);
        json.WriteNumber("users", Snapshot.Users);
        json.WriteNumber("rows", Snapshot.Rows);
        json.WriteNumber("conflicts", Snapshot.Conflicts);
        if (Snapshot.AsOf is { } asOf)
        {
            json.WriteString("as_of", asOf.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", CultureInfo.InvariantCulture));
        }
        else
        {
            json.WriteNull("as_of");
        }

        json.WriteEndObject();
        json.WriteStartObject("jurisdictions");
        json.WriteString("source", Jurisdictions.Source);
        json.WriteString("sha256", Jurisdictions.Sha256);
        json.WriteBoolean("builtin", Jurisdictions.IsBuiltIn);
        if (Jurisdictions.AsOf is { } day)
        {
            json.WriteString("as_of", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }
        json.WriteEndObject();
        json.WriteStartObject("options");
        json.WriteString("user_field", Options.UserField);
        json.WriteString("region_field", Options.RegionField);
        json.WriteString("id_field", Options.IdField);
        json.WriteStartArray("subject_fields");
        foreach (var field in Options.SubjectFields)
        {
            json.WriteStringValue(field);
        }

        json.WriteEndArray();
        json.WriteString("unknown_users", Options.UnknownUsers == UnknownUserPolicy.Drop ? "drop" : "treat-as-unset");
        json.WriteNumber("max_line_length", Options.MaxLineLength);
        json.WriteNumber("max_subjects", Options.MaxSubjects);
        json.WriteEndObject();
        json.WriteStartObject("tool");
        json.WriteString("name", "consentfilter");
        json.WriteString("version", ToolVersion);
        json.WriteEndObject();
        json.WriteString("started_at", StartedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        json.WriteNumber("elapsed_seconds", Math.Round(Elapsed.TotalSeconds, 3));
        json.WriteNumber("records_per_second", Elapsed.TotalSeconds > 0 ? Math.Round(Totals.Records / Elapsed.TotalSeconds) : 0);
        json.WriteEndObject();
    }

    /// <summary>The library's informational version.</summary>
    public static string ToolVersion => Internal.ToolInfo.Version;
}

/// <summary>Counts for one input.</summary>
/// <param name="Path">The input's name as given.</param>
/// <param name="Counts">What happened to its records.</param>
public sealed record InputReport(string Path, RunCounts Counts)
{
    /// <summary>How the input was stored: <c>none</c>, <c>gzip</c> or <c>zstd</c> (told by its content, not its name).</summary>
    /// <value>The default is <c>none</c>.</value>
    public string Compression { get; init; } = "none";

    /// <summary>Whether all of the input's content was covered by checksums that matched: true for gzip (CRC-32 per member) and for zstd when every frame has a content checksum.</summary>
    /// <value>The default is false (plain input, or zstd frames without checksums).</value>
    public bool Checksummed { get; init; }
}

/// <summary>How one input was stored, as its reader found it.</summary>
/// <param name="Compression">The compression its content had.</param>
/// <param name="Checksummed">Whether every byte of it was covered by a checksum that matched.</param>
internal readonly record struct InputContent(IO.CompressionFormat Compression, bool Checksummed)
{
    /// <summary>What a stream read to its end says about its input (an input given as a stream is plain).</summary>
    internal static InputContent Of(Stream stream) =>
        stream is IO.DecompressingStream decompressing ? new(decompressing.Format, decompressing.Checksummed) : default;
}
