namespace ConsentFilter.Jurisdictions;

/// <summary>Normalization of ISO 3166 region codes.</summary>
public static class RegionCode
{
    /// <summary>The code that stands for "any other or no region".</summary>
    public const string Default = "*";

    /// <summary>Trims and upper-cases invariantly (so <c>"it"</c> is <c>"IT"</c> under every culture).</summary>
    public static string Normalize(string code) => code.Trim().ToUpperInvariant();

    /// <summary>Writes the normalized form of <paramref name="code"/> into <paramref name="destination"/>.</summary>
    /// <returns>The number of characters written.</returns>
    public static int Normalize(ReadOnlySpan<char> code, Span<char> destination)
    {
        var trimmed = code.Trim();
        return trimmed.ToUpperInvariant(destination);
    }

    /// <summary>The country part of an ISO 3166-2 subdivision (<c>US-CA</c> → <c>US</c>), or empty if there is none.</summary>
    public static ReadOnlySpan<char> CountryOf(ReadOnlySpan<char> normalizedCode)
    {
        var dash = normalizedCode.IndexOf('-');
        return dash > 0 ? normalizedCode[..dash] : [];
    }
}
