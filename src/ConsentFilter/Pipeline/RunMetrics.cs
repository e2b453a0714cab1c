using ConsentFilter.Decisions;
using ConsentFilter.Records;
using ConsentFilter.Telemetry;

namespace ConsentFilter.Pipeline;

/// <summary>Feeds the meter of <see cref="ConsentFilterTelemetry"/> from run counts, for every path (file runs, <c>DecideAsync</c>, tallies, the stream).</summary>
internal static class RunMetrics
{
    /// <summary>Adds one batch's counts to the instruments (called by the writer, in order).</summary>
    internal static void Record(RunCounts batch, long bytes)
    {
        if (!ConsentFilterTelemetry.Read.Enabled && !ConsentFilterTelemetry.Bytes.Enabled && !ConsentFilterTelemetry.Kept.Enabled && !ConsentFilterTelemetry.Dropped.Enabled && !ConsentFilterTelemetry.Quarantined.Enabled)
        {
            return;
        }

        ConsentFilterTelemetry.Read.Add(batch.Records);
        ConsentFilterTelemetry.Kept.Add(batch.Kept);
        ConsentFilterTelemetry.Bytes.Add(bytes);
        foreach (var reason in DropReasonNames.All)
        {
            var n = batch.Dropped(reason);
            if (n > 0)
            {
                ConsentFilterTelemetry.Dropped.Add(n, new KeyValuePair<string, object?>("reason", reason.ToName()));
            }
        }

        foreach (var kind in MalformedKindNames.All)
        {
            var n = batch.Quarantined(kind);
            if (n > 0)
            {
                ConsentFilterTelemetry.Quarantined.Add(n, new KeyValuePair<string, object?>("error", kind.ToName()));
            }
        }
    }

    /// <summary>Adds one record decided outside a batch (the stream, which accounts record by record).</summary>
    /// <param name="reason">The drop reason, or <see cref="DropReason.None"/> when kept or quarantined.</param>
    /// <param name="error">The malformed kind when quarantined, else <see cref="MalformedKind.None"/>.</param>
    internal static void RecordOne(DropReason reason, MalformedKind error)
    {
        ConsentFilterTelemetry.Read.Add(1);
        if (error != MalformedKind.None)
        {
            ConsentFilterTelemetry.Quarantined.Add(1, new KeyValuePair<string, object?>("error", error.ToName()));
        }
        else if (reason != DropReason.None)
        {
            ConsentFilterTelemetry.Dropped.Add(1, new KeyValuePair<string, object?>("reason", reason.ToName()));
        }
        else
        {
            ConsentFilterTelemetry.Kept.Add(1);
        }
    }
}
