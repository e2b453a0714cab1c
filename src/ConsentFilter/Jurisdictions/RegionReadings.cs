using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace ConsentFilter.Jurisdictions;

/// <summary>How a reading of a region upper-cases it (SPEC 2.1, docs/clarifications.md "Non-ASCII regions").</summary>
internal enum RegionCasing
{
    /// <summary>Simple invariant uppercase, as <see cref="RegionCode.Normalize(string)"/> does.</summary>
    Invariant,

    /// <summary>Full Unicode uppercase: <c>ß</c> → <c>SS</c>, <c>ﬁ</c> → <c>FI</c>, <c>ſ</c> → <c>S</c>, <c>ı</c> → <c>I</c>.</summary>
    Full,

    /// <summary>Full uppercase after the ASCII fold (compatibility decomposition, marks dropped): <c>ＣＮ</c> → <c>CN</c>, <c>é</c> → <c>E</c>.</summary>
    AsciiFold,
}

/// <summary>Which characters a reading of a region keeps.</summary>
internal enum RegionShape
{
    /// <summary>Every character.</summary>
    AsIs,

    /// <summary>Only letters, digits and <c>-</c> (<c>\u001fCN</c> → <c>CN</c>, <c>CN-\ud800</c> → <c>CN-</c>).</summary>
    LettersDigitsDashes,

    /// <summary>Letters, digits and <c>-</c>, each run of other characters between them read as one <c>-</c> (<c>US_CA</c> → <c>US-CA</c>).</summary>
    Separated,
}

/// <summary>Writes the readings of a region that is not plain ASCII; <see cref="JurisdictionTable.Resolve(ReadOnlySpan{char}, out string)"/> looks each one up.</summary>
/// <remarks>
/// The per-character data (full case mappings beyond the simple ones, and the ASCII fold) comes from the Unicode
/// Character Database through the embedded <c>region-readings.txt</c>, not from the runtime: with invariant
/// globalization .NET neither normalizes (NFKC) nor maps <c>ſ</c> and <c>ı</c> to ASCII.
/// </remarks>
internal static class RegionReadings
{
    private const string ResourceName = "ConsentFilter.region-readings.txt";

    /// <summary>Every casing, in the order readings are tried (the first of equally strict readings names the code).</summary>
    internal static readonly RegionCasing[] Casings = [RegionCasing.Invariant, RegionCasing.Full, RegionCasing.AsciiFold];

    /// <summary>Every shape, in the order readings are tried.</summary>
    internal static readonly RegionShape[] Shapes = [RegionShape.AsIs, RegionShape.LettersDigitsDashes, RegionShape.Separated];

    /// <summary>
    /// Writes one reading of <paramref name="region"/> into <paramref name="destination"/>. A lone surrogate is read as
    /// U+FFFD: it is no letter, digit or <c>-</c>, and the characters around it are still read.
    /// </summary>
    /// <param name="region">The trimmed region.</param>
    /// <param name="casing">How the reading upper-cases.</param>
    /// <param name="shape">Which characters the reading keeps.</param>
    /// <param name="destination">Receives the reading, or its start when it does not fit.</param>
    /// <param name="complete">False when the reading is longer than <paramref name="destination"/>.</param>
    /// <returns>The number of characters written.</returns>
    internal static int Write(ReadOnlySpan<char> region, RegionCasing casing, RegionShape shape, Span<char> destination, out bool complete)
    {
        Span<char> scratch = stackalloc char[2];
        var written = 0;
        var pendingSeparator = false;
        var i = 0;
        while (i < region.Length)
        {
            Rune.DecodeFromUtf16(region[i..], out var rune, out var consumed);
            i += consumed;
            var mapped = Map(rune, casing, scratch);
            while (!mapped.IsEmpty)
            {
                Rune.DecodeFromUtf16(mapped, out var r, out var n);
                mapped = mapped[n..];
                if (shape != RegionShape.AsIs && !Rune.IsLetterOrDigit(r) && r.Value != '-')
                {
                    pendingSeparator |= shape == RegionShape.Separated && written > 0;
                    continue;
                }

                var needed = r.Utf16SequenceLength + (pendingSeparator ? 1 : 0);
                if (written + needed > destination.Length)
                {
                    // The separator still goes in when it fits: "US_CA" cut to three characters is "US-" (country US),
                    // not "US", which would match no country whenever the table's codes are all short.
                    if (pendingSeparator && written < destination.Length)
                    {
                        destination[written++] = '-';
                    }

                    complete = false;
                    return written;
                }

                if (pendingSeparator)
                {
                    destination[written++] = '-';
                    pendingSeparator = false;
                }

                written += r.EncodeToUtf16(destination[written..]);
            }
        }

        complete = true;
        return written;
    }

    private static ReadOnlySpan<char> Map(Rune rune, RegionCasing casing, Span<char> scratch)
    {
        if (rune.IsAscii)
        {
            scratch[0] = char.ToUpperInvariant((char)rune.Value);
            return scratch[..1];
        }

        if (casing == RegionCasing.AsciiFold && Data.Fold.TryGetValue(rune.Value, out var folded))
        {
            return folded;
        }

        if (casing != RegionCasing.Invariant && Data.Upper.TryGetValue(rune.Value, out var upper))
        {
            return upper;
        }

        return scratch[..Rune.ToUpperInvariant(rune).EncodeToUtf16(scratch)];
    }

    /// <summary>The embedded tables, loaded on the first region that is not plain ASCII.</summary>
    private static class Data
    {
        internal static readonly FrozenDictionary<int, string> Upper;
        internal static readonly FrozenDictionary<int, string> Fold;

#pragma warning disable CA1810 // both tables come from one pass over the resource
        static Data()
#pragma warning restore CA1810
        {
            var upper = new Dictionary<int, string>();
            var fold = new Dictionary<int, string>();
            using var stream = typeof(RegionReadings).Assembly.GetManifestResourceStream(ResourceName)
                ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing.");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (reader.ReadLine() is { } line)
            {
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }

                // "<U|F> <hex code point> <text>"
                var parts = line.Split(' ', 3);
                var codePoint = int.Parse(parts[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                (parts[0] == "U" ? upper : fold).Add(codePoint, parts[2]);
            }

            Upper = upper.ToFrozenDictionary();
            Fold = fold.ToFrozenDictionary();
        }
    }
}
