using System.Diagnostics;
using System.Diagnostics.Metrics;

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

    private static readonly Meter s_meter = new(Name, Internal.ToolInfo.Version);
    internal static readonly Counter<long> Read = s_meter.CreateCounter<long>("consentfilter.records.read", "{record}", "Records read (blank lines excluded).");
    internal static readonly Counter<long> Kept = s_meter.CreateCounter<long>("consentfilter.records.kept", "{record}", "Records written to the output.");
    internal static readonly Counter<long> Dropped = s_meter.CreateCounter<long>("consentfilter.records.dropped", "{record}", "Records dropped, by reason.");
    internal static readonly Counter<long> Quarantined = s_meter.CreateCounter<long>("consentfilter.records.quarantined", "{record}", "Malformed lines quarantined, by error.");
    internal static readonly Counter<long> Bytes = s_meter.CreateCounter<long>("consentfilter.bytes.read", "By", "Input bytes read (after decompression).");

    /// <summary>The activity source for run spans.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name, Internal.ToolInfo.Version);
}
