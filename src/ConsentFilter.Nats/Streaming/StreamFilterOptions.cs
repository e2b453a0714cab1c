using ConsentFilter.Pipeline;

namespace ConsentFilter.Streaming;

/// <summary>Where a <see cref="StreamFilterWorker"/> reads, writes and how it reads records.</summary>
public sealed class StreamFilterOptions
{
    /// <summary>The JetStream stream holding the input records.</summary>
    public string InputStream { get; set; } = string.Empty;

    /// <summary>The consumer's one filter subject (a wildcard is fine), or empty for the whole stream.</summary>
    /// <remarks>One subject only: nats-server 2.9 silently ignores several filter subjects on one consumer.</remarks>
    public string InputSubject { get; set; } = string.Empty;

    /// <summary>The subject kept records are published to; a stream with a duplicate window must capture it.</summary>
    public string OutputSubject { get; set; } = string.Empty;

    /// <summary>The subject malformed records are published to, or null to only count them.</summary>
    public string? QuarantineSubject { get; set; }

    /// <summary>The durable pull consumer every worker shares.</summary>
    /// <value>The default is <c>consentfilter</c>.</value>
    public string Durable { get; set; } = StreamFilterDefaults.Durable;

    /// <summary>How long the server waits for an ack before it redelivers a record.</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan AckWait { get; set; } = StreamFilterDefaults.AckWait;

    /// <summary>Publishes awaiting their ack per worker; each input is acked only after its own publish is.</summary>
    /// <value>The default is 128.</value>
    public int MaxInFlight { get; set; } = StreamFilterDefaults.MaxInFlight;

    /// <summary>The user id field (dotted path).</summary>
    /// <value>The default is <c>user_id</c>.</value>
    public string UserField { get; set; } = ConsentFilterDefaults.UserField;

    /// <summary>The region field (dotted path).</summary>
    /// <value>The default is <c>region</c>.</value>
    public string RegionField { get; set; } = ConsentFilterDefaults.RegionField;

    /// <summary>The record id field (dotted path).</summary>
    /// <value>The default is <c>id</c>.</value>
    public string IdField { get; set; } = ConsentFilterDefaults.IdField;

    /// <summary>Co-subject fields (dotted paths); every co-subject must pass too.</summary>
    public IList<string> SubjectFields { get; } = [];

    /// <summary>The most co-subjects a record may have.</summary>
    /// <value>The default is 10,000.</value>
    public int MaxSubjects { get; set; } = ConsentFilterDefaults.MaxSubjects;

    /// <summary>The longest message body accepted as a record; longer ones are quarantined (<c>line_too_long</c>).</summary>
    /// <value>The default is 16 MiB.</value>
    public int MaxLineLength { get; set; } = ConsentFilterDefaults.MaxLineLength;

    /// <summary>Throws with every problem in one message when the options cannot work.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(InputStream))
        {
            problems.Add("InputStream is required.");
        }

        if (string.IsNullOrWhiteSpace(OutputSubject))
        {
            problems.Add("OutputSubject is required.");
        }

        if (string.IsNullOrWhiteSpace(Durable))
        {
            problems.Add("Durable is required.");
        }

        if (AckWait <= TimeSpan.Zero)
        {
            problems.Add($"AckWait must be positive (got {AckWait}).");
        }

        if (MaxInFlight < 1)
        {
            problems.Add($"MaxInFlight must be at least 1 (got {MaxInFlight}).");
        }

        if (MaxLineLength < 1)
        {
            problems.Add($"MaxLineLength must be at least 1 (got {MaxLineLength}).");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("invalid stream options: " + string.Join(" ", problems));
        }
    }
}

/// <summary>Defaults of <see cref="StreamFilterOptions"/>.</summary>
public static class StreamFilterDefaults
{
    /// <summary>Default durable consumer name.</summary>
    public const string Durable = "consentfilter";

    /// <summary>Default publishes in flight per worker.</summary>
    public const int MaxInFlight = 128;

    /// <summary>Default ack wait.</summary>
    public static TimeSpan AckWait { get; } = TimeSpan.FromSeconds(30);
}
