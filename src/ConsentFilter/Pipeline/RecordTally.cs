using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>
/// Accumulates the counts of records decided one by one (with <see cref="ConsentPolicy.DecideRecord(string, string?, IReadOnlyList{string}?)"/>)
/// in the same shape as a file run's report, and feeds the same meter (<see cref="Telemetry.ConsentFilterTelemetry"/>).
/// </summary>
/// <remarks>Not thread-safe: use one per thread and <see cref="Add(RecordTally)"/> them together.</remarks>
public sealed class RecordTally
{
    private RunCounts _unflushed = new();

    /// <summary>Everything added so far.</summary>
    public RunCounts Counts { get; } = new();

    /// <summary>Counts a decided record: kept, or dropped with its reason, under the region code that decided it.</summary>
    public void Add(RecordVerdict verdict)
    {
        foreach (var counts in (ReadOnlySpan<RunCounts>)[Counts, _unflushed])
        {
            if (verdict.IsKept)
            {
                counts.AddKept(verdict.Region.Code ?? Jurisdictions.RegionCode.Default);
            }
            else
            {
                counts.AddDropped(verdict.Reason, verdict.Region.Code ?? Jurisdictions.RegionCode.Default);
            }
        }
    }

    /// <summary>Counts a record that could not be decided (its fields were malformed).</summary>
    public void AddQuarantined(MalformedKind error)
    {
        Counts.AddQuarantined(error);
        _unflushed.AddQuarantined(error);
    }

    /// <summary>Adds another tally's counts (for example one per worker thread).</summary>
    public void Add(RecordTally other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Counts.Add(other.Counts);
        _unflushed.Add(other._unflushed);
        other._unflushed = new RunCounts();
    }

    /// <summary>Sends the counts added since the last flush to the meter (call it per batch of work, not per record).</summary>
    public void Flush()
    {
        RunMetrics.Record(_unflushed, 0);
        _unflushed = new RunCounts();
    }
}
