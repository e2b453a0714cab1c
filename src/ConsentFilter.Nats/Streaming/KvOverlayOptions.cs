namespace ConsentFilter.Streaming;

/// <summary>How a <see cref="KvOverlaySnapshot"/> joins a compiled base to the bucket's later changes.</summary>
public sealed class KvOverlayOptions
{
    /// <summary>
    /// For a base without a stream sequence (compiled from a CSV): read the bucket's changes from this long before the
    /// base's as-of time, to cover clock skew between whoever dated the CSV and the NATS server.
    /// </summary>
    /// <value>The default is 5 minutes.</value>
    /// <remarks>A larger margin only replays more entries (an entry already in the base changes nothing); a smaller one can miss a change.</remarks>
    public TimeSpan StartMargin { get; set; } = KvOverlayDefaults.StartMargin;

    /// <summary>Refuse a base whose as-of time is older than this; null accepts any age.</summary>
    /// <value>The default is null.</value>
    /// <remarks>A base with no as-of time fails any age limit.</remarks>
    public TimeSpan? MaxBaseAge { get; set; }

    /// <summary>Throws with every problem in one message when the options cannot work.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (StartMargin < TimeSpan.Zero)
        {
            problems.Add($"StartMargin must not be negative (got {StartMargin}).");
        }

        if (MaxBaseAge is { } age && age <= TimeSpan.Zero)
        {
            problems.Add($"MaxBaseAge must be positive (got {age}).");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("invalid overlay options: " + string.Join(" ", problems));
        }
    }
}

/// <summary>Defaults of <see cref="KvOverlayOptions"/>.</summary>
public static class KvOverlayDefaults
{
    /// <summary>Default margin before a CSV-built base's as-of time.</summary>
    public static TimeSpan StartMargin { get; } = TimeSpan.FromMinutes(5);
}
