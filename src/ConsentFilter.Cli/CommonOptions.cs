using System.CommandLine;
using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Cli;

/// <summary>Options shared by several commands, defined once.</summary>
internal static class CommonOptions
{
    public static Option<string> Consent(bool orDatabase = false) => new("--consent")
    {
        Description = orDatabase
            ? "Consent snapshot: a consent CSV or a compiled snapshot file (snapshot build); or give --consent-db and --consent-query."
            : "Consent snapshot: a consent CSV or a compiled snapshot file (snapshot build).",
        Required = !orDatabase,
        HelpName = "CSV|SNAPSHOT",
    };

    public static Option<string?> Jurisdictions() => new("--jurisdictions")
    {
        Description = "Jurisdiction table CSV (code,regime[,note]). Omitted: the built-in table, a conservative starting point, not legal advice.",
        HelpName = "CSV",
    };

    public static Option<string> Purpose() => new("--purpose")
    {
        Description = "Purpose to filter for.",
        DefaultValueFactory = _ => ConsentFilterDefaults.Purpose,
    };

    public static Option<string> UnknownUsers() => new Option<string>("--unknown-users")
    {
        Description = "Users not in the snapshot: drop (fail-closed) or treat-as-unset.",
        DefaultValueFactory = _ => "drop",
    }.AcceptOnlyFromAmong("drop", "treat-as-unset");

    public static Option<string?> AsOf() => new("--as-of")
    {
        Description = "Day a dated jurisdiction table (effective_from column) is resolved for, yyyy-MM-dd. Default: the snapshot's as-of day.",
        HelpName = "DATE",
    };

    public static DateOnly? ParseAsOf(string? text) =>
        text is null ? null
        : DateOnly.TryParseExact(text, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var day) ? day
        : throw new UsageException($"--as-of: '{text}' is not a date (yyyy-MM-dd)");

    /// <summary>A positive (or, when allowed, zero) duration: <c>36h</c>, <c>7d</c>, <c>90m</c>, <c>30s</c> or <c>d.hh:mm:ss</c>; null when not given.</summary>
    public static TimeSpan? ParseDuration(string? text, string option, bool allowZero = false)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var t = text.Trim();
        if (t.Length > 1 && double.TryParse(t[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var n) && (n > 0 || (allowZero && n == 0)))
        {
            switch (char.ToLowerInvariant(t[^1]))
            {
                case 'd': return TimeSpan.FromDays(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 's': return TimeSpan.FromSeconds(n);
            }
        }

        if (TimeSpan.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out var span) && (span > TimeSpan.Zero || (allowZero && span == TimeSpan.Zero)))
        {
            return span;
        }

        throw new UsageException($"{option}: '{text}' is not a duration (e.g. 36h, 7d, 1.12:00:00)");
    }

    public static UnknownUserPolicy ParseUnknownUsers(string value) =>
        value == "treat-as-unset" ? UnknownUserPolicy.TreatAsUnset : UnknownUserPolicy.Drop;

    /// <summary>Parses --format: jsonl, csv, parquet or arrow; null (detect) when omitted.</summary>
    internal static RecordFormat? ParseRecordFormat(string? text) => text?.Trim().ToUpperInvariant() switch
    {
        null => null,
        "JSONL" or "JSON" or "NDJSON" => RecordFormat.JsonLines,
        "CSV" => RecordFormat.Csv,
        "PARQUET" => RecordFormat.Parquet,
        "ARROW" or "IPC" or "FEATHER" => RecordFormat.Arrow,
        _ => throw new UsageException($"--format: '{text}' is not one of jsonl, csv, parquet, arrow"),
    };
}
