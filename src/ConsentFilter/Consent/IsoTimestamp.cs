using System.Globalization;

namespace ConsentFilter.Consent;

/// <summary>Strict ISO 8601 timestamps for <c>updated_at</c>: a timestamp without offset is UTC.</summary>
internal static class IsoTimestamp
{
    private static readonly string[] s_formats = BuildFormats();

    internal static bool TryParse(ReadOnlySpan<char> text, out DateTimeOffset value) =>
        DateTimeOffset.TryParseExact(text.Trim(), s_formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

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
