namespace ConsentFilter.Consent;

/// <summary>A user's consent for one purpose.</summary>
/// <remarks>Ordered by restrictiveness so merging conflicting rows takes the maximum (denied &gt; unset &gt; granted).</remarks>
public enum ConsentState : byte
{
    /// <summary>The user explicitly granted use.</summary>
    Granted = 0,

    /// <summary>The user made no choice.</summary>
    Unset = 1,

    /// <summary>The user explicitly denied use.</summary>
    Denied = 2,
}

/// <summary>Parsing of consent values and booleans as they appear in consent files.</summary>
public static class ConsentValues
{
    /// <summary>Parses a purpose cell (trimmed, case-insensitive).</summary>
    public static bool TryParseState(ReadOnlySpan<char> text, out ConsentState state)
    {
        Span<char> upper = stackalloc char[16];
        var trimmed = text.Trim();
        if (trimmed.Length > upper.Length)
        {
            state = ConsentState.Denied;
            return false;
        }

        var n = trimmed.ToUpperInvariant(upper);
        switch (upper[..n])
        {
            case "GRANTED" or "OPTED_IN" or "OPT_IN" or "YES" or "TRUE" or "1":
                state = ConsentState.Granted;
                return true;
            case "DENIED" or "OPTED_OUT" or "OPT_OUT" or "NO" or "FALSE" or "0":
                state = ConsentState.Denied;
                return true;
            case "" or "UNSET" or "NONE" or "NULL":
                state = ConsentState.Unset;
                return true;
            default:
                state = ConsentState.Denied;
                return false;
        }
    }

    /// <summary>Parses a boolean cell: <c>true false 1 0 yes no</c> (trimmed, case-insensitive), empty = false.</summary>
    public static bool TryParseBoolean(ReadOnlySpan<char> text, out bool value)
    {
        Span<char> upper = stackalloc char[8];
        var trimmed = text.Trim();
        if (trimmed.Length > upper.Length)
        {
            value = true;
            return false;
        }

        var n = trimmed.ToUpperInvariant(upper);
        switch (upper[..n])
        {
            case "TRUE" or "1" or "YES":
                value = true;
                return true;
            case "FALSE" or "0" or "NO" or "":
                value = false;
                return true;
            default:
                value = true;
                return false;
        }
    }

    /// <summary>The spelling used in reports and explanations.</summary>
    public static string ToName(this ConsentState state) => state switch
    {
        ConsentState.Granted => "granted",
        ConsentState.Unset => "unset",
        ConsentState.Denied => "denied",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };
}
