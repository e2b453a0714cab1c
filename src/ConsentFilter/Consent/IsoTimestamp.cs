using System.Globalization;

namespace ConsentFilter.Consent;

/// <summary>Strict ISO 8601 timestamps for <c>updated_at</c>: a timestamp without offset is UTC.</summary>
internal static class IsoTimestamp
{
    private static readonly string[] s_formats = BuildFormats();

    /// <summary>Fraction digits .NET can parse (100 ns ticks).</summary>
    private const int MaxFractionDigits = 7;

    internal static bool TryParse(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        Span<char> scratch = stackalloc char[64];
        return DateTimeOffset.TryParseExact(DropExtraFractionDigits(text.Trim(), scratch), s_formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    /// <summary>
    /// ISO 8601 allows any number of fraction digits and nanosecond timestamps (9 digits) are common, but .NET parses at
    /// most 7. Digits past the 7th are dropped: at worst two rows become a tie, which merges them most restrictively.
    /// </summary>
    private static ReadOnlySpan<char> DropExtraFractionDigits(ReadOnlySpan<char> text, Span<char> scratch)
    {
        var separator = text.IndexOfAny('.', ',');
        if (separator < 0)
        {
            return text;
        }

        var digits = text[(separator + 1)..].IndexOfAnyExceptInRange('0', '9');
        if (digits < 0)
        {
            digits = text.Length - separator - 1;
        }

        if (digits <= MaxFractionDigits || text.Length > scratch.Length)
        {
            return text;
        }

        var kept = separator + 1 + MaxFractionDigits;
        var rest = text[(separator + 1 + digits)..];
        text[..kept].CopyTo(scratch);
        rest.CopyTo(scratch[kept..]);
        return scratch[..(kept + rest.Length)];
    }

    private static string[] BuildFormats()
    {
        var formats = new List<string> { "yyyy-MM-dd", "yyyy-MM-ddK", "yyyyMMdd" };
        string[] times = ["HH:mm", "HH:mm:ss", "HH:mm:ss.FFFFFFF", "HH:mm:ss,FFFFFFF"];
        string[] zones = ["", "K", "zz", "zzz"];
        foreach (var separator in new[] { "'T'", "' '", "'t'" })
        {
            foreach (var time in times)
            {
                foreach (var zone in zones)
                {
                    formats.Add($"yyyy-MM-dd{separator}{time}{zone}");
                }
            }
        }

        return [.. formats];
    }
}
