using System.Text.Json;
using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Streaming;

/// <summary>What a <see cref="StreamFilterWorker"/> has done: every acked input is counted exactly once (and reaches the "ConsentFilter" meter as file runs' records do).</summary>
/// <remarks>
/// Thread-safe. Counted when the input is acked, so <c>Records == Kept + Dropped + Quarantined</c> holds for acked inputs;
/// a redelivered input (after a crash or an ack timeout) is counted by the worker that acks it.
/// </remarks>
public sealed class StreamCounts
{
    private readonly long[] _dropped = new long[Enum.GetValues<DropReason>().Length];
    private readonly long[] _quarantined = new long[Enum.GetValues<MalformedKind>().Length];
    private long _records;
    private long _kept;
    private long _blank;
    private long _duplicates;

    /// <summary>Records decided and acked (blank messages excluded).</summary>
    public long Records => Interlocked.Read(ref _records);

    /// <summary>Records decided kept and acked, including those whose publish the output stream discarded as a duplicate (<see cref="Duplicates"/>).</summary>
    public long Kept => Interlocked.Read(ref _kept);

    /// <summary>Records dropped, all reasons.</summary>
    public long Dropped => Sum(_dropped);

    /// <summary>Malformed records, all kinds.</summary>
    public long Quarantined => Sum(_quarantined);

    /// <summary>Blank messages: acked, not counted as records (as blank lines in files).</summary>
    public long Blank => Interlocked.Read(ref _blank);

    /// <summary>Kept records whose publish the output stream reported as a duplicate (republished after a redelivery); included in <see cref="Kept"/>.</summary>
    /// <remarks>Quarantine publishes reported as duplicates are counted in <see cref="Quarantined"/> only.</remarks>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Records dropped for <paramref name="reason"/>.</summary>
    public long DroppedFor(DropReason reason) => Interlocked.Read(ref _dropped[(int)reason]);

    /// <summary>Records quarantined as <paramref name="kind"/>.</summary>
    public long QuarantinedAs(MalformedKind kind) => Interlocked.Read(ref _quarantined[(int)kind]);

    /// <summary>The counts as a JSON object with the report's member names.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("records", Records);
            json.WriteNumber("kept", Kept);
            json.WriteStartObject("dropped");
            json.WriteNumber("total", Dropped);
            json.WriteStartObject("by_reason");
            foreach (var reason in DropReasonNames.All)
            {
                if (DroppedFor(reason) is var n and > 0)
                {
                    json.WriteNumber(reason.ToName(), n);
                }
            }

            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartObject("quarantined");
            json.WriteNumber("total", Quarantined);
            json.WriteStartObject("by_error");
            foreach (var kind in Enum.GetValues<MalformedKind>())
            {
                if (kind != MalformedKind.None && QuarantinedAs(kind) is var n and > 0)
                {
                    json.WriteNumber(kind.ToName(), n);
                }
            }

            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteNumber("blank", Blank);
            json.WriteNumber("duplicates", Duplicates);
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal void AddKept(bool duplicate)
    {
        Interlocked.Increment(ref _kept);
        Interlocked.Increment(ref _records);
        Pipeline.RunMetrics.RecordOne(DropReason.None, MalformedKind.None);
        if (duplicate)
        {
            Interlocked.Increment(ref _duplicates);
        }
    }

    internal void AddDropped(DropReason reason)
    {
        Interlocked.Increment(ref _dropped[(int)reason]);
        Interlocked.Increment(ref _records);
        Pipeline.RunMetrics.RecordOne(reason, MalformedKind.None);
    }

    internal void AddQuarantined(MalformedKind kind)
    {
        Interlocked.Increment(ref _quarantined[(int)kind]);
        Interlocked.Increment(ref _records);
        Pipeline.RunMetrics.RecordOne(DropReason.None, kind);
    }

    internal void AddBlank() => Interlocked.Increment(ref _blank);

    private static long Sum(long[] counts)
    {
        long total = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            total += Interlocked.Read(ref counts[i]);
        }

        return total;
    }
}
