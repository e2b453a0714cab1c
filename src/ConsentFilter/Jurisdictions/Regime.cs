namespace ConsentFilter.Jurisdictions;

/// <summary>The rule a region applies to using member content for a purpose.</summary>
/// <remarks>Values are ordered by restrictiveness so the most restrictive of several is their maximum.</remarks>
public enum Regime
{
    /// <summary>Use is allowed unless the user denied it or sent a Global Privacy Control signal.</summary>
    OptOut = 0,

    /// <summary>Use is allowed only with the user's explicit grant.</summary>
    OptIn = 1,

    /// <summary>Content is never used, whatever the consent.</summary>
    Excluded = 2,
}

/// <summary>Spelling of <see cref="Regime"/> values as they appear in tables and reports.</summary>
public static class RegimeNames
{
    /// <summary>Returns the table spelling (<c>opt-out</c>, <c>opt-in</c>, <c>excluded</c>).</summary>
    public static string ToName(this Regime regime) => regime switch
    {
        Regime.OptOut => "opt-out",
        Regime.OptIn => "opt-in",
        Regime.Excluded => "excluded",
        _ => throw new ArgumentOutOfRangeException(nameof(regime), regime, null),
    };

    /// <summary>Parses a trimmed, case-insensitive regime spelling.</summary>
    public static bool TryParse(string? text, out Regime regime)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "OPT-OUT": regime = Regime.OptOut; return true;
            case "OPT-IN": regime = Regime.OptIn; return true;
            case "EXCLUDED": regime = Regime.Excluded; return true;
            default: regime = Regime.Excluded; return false;
        }
    }

    /// <summary>The more restrictive of two regimes.</summary>
    public static Regime Strictest(Regime a, Regime b) => a >= b ? a : b;
}
