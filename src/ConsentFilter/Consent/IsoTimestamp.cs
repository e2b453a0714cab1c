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
        text = text.Trim();
        if (TryParseCommonUtc(text, out value))
        {
            return true;
        }

        return TryParseAnyForm(text, out value);
    }

    /// <summary>The general parser: every accepted form (see <see cref="BuildFormats"/>).</summary>
    internal static bool TryParseAnyForm(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        Span<char> scratch = stackalloc char[64];
        text = text.Trim();
        if (!DigitsWhereIsoWantsThem(text))
        {
            value = default;
            return false;
        }

        return DateTimeOffset.TryParseExact(DropExtraFractionDigits(text.Trim(), scratch), s_formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    /// <summary>
    /// The form exports use almost always, <c>yyyy-MM-ddTHH:mm:ss[.f…]Z</c> (1–7 fraction digits), read directly:
    /// the general parser costs ~1 µs a row, most of a consent CSV's load time. Anything else — other forms, and every
    /// out-of-range field — is left to the general parser, which decides; for what this accepts both give the same value
    /// (a property test compares them).
    /// </summary>
    internal static bool TryParseCommonUtc(ReadOnlySpan<char> t, out DateTimeOffset value)
    {
        value = default;
        if (t.Length < 20 || t.Length > 28 || t[^1] != 'Z' || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':')
        {
            return false;
        }

        if (!Digits(t[..4], out var year) || !Digits(t.Slice(5, 2), out var month) || !Digits(t.Slice(8, 2), out var day)
            || !Digits(t.Slice(11, 2), out var hour) || !Digits(t.Slice(14, 2), out var minute) || !Digits(t.Slice(17, 2), out var second))
        {
            return false;
        }

        long ticks = 0;
        if (t.Length > 20)
        {
            var fraction = t[19..^1];
            if (fraction[0] != '.' || fraction.Length < 2 || !Digits(fraction[1..], out var digits))
            {
                return false;
            }

            ticks = digits;
            for (var i = fraction.Length - 1; i < MaxFractionDigits; i++)
            {
                ticks *= 10;
            }
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        value = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero).AddTicks(ticks);
        return true;
    }

    private static bool Digits(ReadOnlySpan<char> text, out int value)
    {
        value = 0;
        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }

    /// <summary>
    /// What .NET's patterns let through and ISO 8601 does not: a fraction separator without a digit after it
    /// (<c>10:00:00.Z</c>, as <c>F</c> matches zero digits) and an offset hour of one digit (<c>+2:00</c>).
    /// </summary>
    private static bool DigitsWhereIsoWantsThem(ReadOnlySpan<char> text)
    {
        var separator = text.IndexOfAny('.', ',');
        if (separator >= 0 && (separator + 1 >= text.Length || !char.IsAsciiDigit(text[separator + 1])))
        {
            return false;
        }

        // The date's own dashes end at index 10 (yyyy-MM-dd); a sign after them starts an offset: hh, hhmm or hh:mm.
        var sign = text.Length > 10 ? text[10..].IndexOfAny('+', '-') : -1;
        if (sign < 0)
        {
            return true;
        }

        var offset = text[(10 + sign + 1)..];
        return offset.Length switch
        {
            2 or 4 => !offset.ContainsAnyExceptInRange('0', '9'),
            5 => offset[2] == ':' && !offset[..2].ContainsAnyExceptInRange('0', '9') && !offset[3..].ContainsAnyExceptInRange('0', '9'),
            _ => false,
        };
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
