using System.Buffers;

namespace ConsentFilter.Jurisdictions;

/// <summary>Normalization of ISO 3166 region codes.</summary>
public static class RegionCode
{
    /// <summary>The code that stands for "any other or no region".</summary>
    public const string Default = "*";

    private static readonly SearchValues<char> s_plain = SearchValues.Create("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>Trims and upper-cases invariantly (so <c>"it"</c> is <c>"IT"</c> under every culture).</summary>
    public static string Normalize(string code) => code.Trim().ToUpperInvariant();

    /// <summary>Writes the normalized form of <paramref name="code"/> into <paramref name="destination"/>.</summary>
    /// <returns>The number of characters written.</returns>
    public static int Normalize(ReadOnlySpan<char> code, Span<char> destination)
    {
        var trimmed = code.Trim();
        return trimmed.ToUpperInvariant(destination);
    }

    /// <summary>
    /// Whether a trimmed region holds only ASCII letters, digits and <c>-</c>: such a region is read one way (upper-cased);
    /// any other resolves to the most restrictive of its readings (SPEC 2.1).
    /// </summary>
    internal static bool IsPlain(ReadOnlySpan<char> trimmed) => !trimmed.ContainsAnyExcept(s_plain);

    /// <summary>The country part of an ISO 3166-2 subdivision (<c>US-CA</c> → <c>US</c>), or empty if there is none.</summary>
    public static ReadOnlySpan<char> CountryOf(ReadOnlySpan<char> normalizedCode)
    {
        var dash = normalizedCode.IndexOf('-');
        return dash > 0 ? normalizedCode[..dash] : [];
    }
}
