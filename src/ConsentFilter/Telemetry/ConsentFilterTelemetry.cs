using System.Diagnostics;
using System.Diagnostics.Metrics;
using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;

namespace ConsentFilter.Telemetry;

/// <summary>
/// The names OpenTelemetry users subscribe to: a <see cref="Meter"/> and an <see cref="ActivitySource"/> both called
/// <c>ConsentFilter</c>. Instruments: <c>consentfilter.records.read</c>, <c>consentfilter.records.kept</c>,
/// <c>consentfilter.records.dropped</c> (tag <c>reason</c>), <c>consentfilter.records.quarantined</c> (tag <c>error</c>),
/// <c>consentfilter.bytes.read</c>; one <c>consentfilter.filter</c> span per run.
/// </summary>
public static class ConsentFilterTelemetry
{
    /// <summary>The meter and activity source name.</summary>
    public const string Name = "ConsentFilter";

    private static readonly Meter s_meter = new(Name, FilterReport.ToolVersion);
    private static readonly Counter<long> s_read = s_meter.CreateCounter<long>("consentfilter.records.read", "{record}", "Records read (blank lines excluded).");
    private static readonly Counter<long> s_kept = s_meter.CreateCounter<long>("consentfilter.records.kept", "{record}", "Records written to the output.");
    private static readonly Counter<long> s_dropped = s_meter.CreateCounter<long>("consentfilter.records.dropped", "{record}", "Records dropped, by reason.");
    private static readonly Counter<long> s_quarantined = s_meter.CreateCounter<long>("consentfilter.records.quarantined", "{record}", "Malformed lines quarantined, by error.");
    private static readonly Counter<long> s_bytes = s_meter.CreateCounter<long>("consentfilter.bytes.read", "By", "Input bytes read (after decompression).");

    /// <summary>The activity source for run spans.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name, FilterReport.ToolVersion);

    /// <summary>Adds one batch's counts to the instruments (called by the writer, in order).</summary>
    internal static void Record(RunCounts batch, long bytes)
    {
        if (!s_read.Enabled && !s_bytes.Enabled && !s_kept.Enabled && !s_dropped.Enabled && !s_quarantined.Enabled)
        {
            return;
        }

        s_read.Add(batch.Records);
        s_kept.Add(batch.Kept);
        s_bytes.Add(bytes);
        foreach (var reason in DropReasonNames.All)
        {
            var n = batch.Dropped(reason);
            if (n > 0)
            {
                s_dropped.Add(n, new KeyValuePair<string, object?>("reason", reason.ToName()));
            }
        }

        foreach (var kind in MalformedKindNames.All)
        {
            var n = batch.Quarantined(kind);
            if (n > 0)
            {
                s_quarantined.Add(n, new KeyValuePair<string, object?>("error", kind.ToName()));
            }
        }
    }
}
