using ConsentFilter.Jurisdictions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Jurisdictions;

/// <summary>SPEC 2.1: a region that is not plain ASCII resolves to the most restrictive regime among its readings.</summary>
public sealed class NonAsciiRegionTests
{
    /// <summary>`*` is laxer than every listed country: a region that falls back to `*` is kept where it should not be.</summary>
    internal const string LaxDefaultTable = """
        code,regime
        SY,excluded
        IR,excluded
        FI,opt-in
        SS,excluded
        CN,excluded
        US,opt-out
        US-CA,opt-in
        *,opt-out
        """;

    /// <summary>`*` is stricter than the listed codes: a region must never fall to a listed code laxer than `*`.</summary>
    private const string StrictDefaultTable = """
        code,regime
        US,opt-out
        US-CA,opt-in
        FI,opt-in
        CN,excluded
        *,excluded
        """;

    [Theory]
    [InlineData("ſy", Regime.Excluded, "SY")]
    [InlineData("ıR", Regime.Excluded, "IR")]
    [InlineData("ﬁ", Regime.OptIn, "FI")]
    [InlineData("ß", Regime.Excluded, "SS")]
    [InlineData("\u001fCN", Regime.Excluded, "CN")]
    [InlineData("\ud800CN", Regime.Excluded, "CN")]
    [InlineData("ＣＮ", Regime.Excluded, "CN")]
    [InlineData("ｃｎ", Regime.Excluded, "CN")]
    [InlineData("\u0130R", Regime.Excluded, "IR")]
    [InlineData("C\u0301N", Regime.Excluded, "CN")]
    [InlineData("us\u2010ca", Regime.OptIn, "US-CA")]
    [InlineData("US_CA", Regime.OptIn, "US-CA")]
    [InlineData("US CA", Regime.OptIn, "US-CA")]
    [InlineData(" ｕｓ－ｃａ ", Regime.OptIn, "US-CA")]
    public void Resolve_NonAsciiRegionReadAsStricterCode_StricterRegime(string region, Regime regime, string code)
    {
        var table = TestData.Jurisdictions(LaxDefaultTable);

        Assert.Equal(regime, table.Resolve(region.AsSpan(), out var matched));
        Assert.Equal(code, matched);
        Assert.Equal(regime, table.Resolve(region));
    }

    [Theory]
    [InlineData("US-é")]
    [InlineData("US-CA\u0000")]
    [InlineData("US-CAſ")]
    [InlineData("US-\ud800")]
    public void Resolve_NonAsciiRegionOfLaxerCountry_DefaultIsTheFloor(string region)
    {
        var table = TestData.Jurisdictions(StrictDefaultTable);

        Assert.Equal(Regime.Excluded, table.Resolve(region.AsSpan(), out var matched));
        Assert.Equal("*", matched);
    }

    [Theory]
    [InlineData("us-ca", Regime.OptIn, "US-CA")]
    [InlineData(" Us-Ca\t", Regime.OptIn, "US-CA")]
    [InlineData("us-wa", Regime.OptOut, "US")]
    [InlineData("cn", Regime.Excluded, "CN")]
    public void ResolveSpan_LowerCaseOrPadded_ResolvesLikeNormalized(string region, Regime regime, string code)
    {
        var table = TestData.Jurisdictions(LaxDefaultTable);

        Assert.Equal(regime, table.Resolve(region.AsSpan(), out var matched));
        Assert.Equal(code, matched);
    }

    [Fact]
    public void Resolve_LongRegions_OnlyTheirStartCanMatch()
    {
        var table = TestData.Jurisdictions(LaxDefaultTable);

        Assert.Equal(Regime.Excluded, table.Resolve(new string('\u001f', 100_000) + "CN"));
        Assert.Equal(Regime.Excluded, table.Resolve("cn-" + new string('é', 100_000)));
        Assert.Equal(Regime.OptOut, table.Resolve(("us-ca" + new string('x', 100_000)).AsSpan(), out var matched));
        Assert.Equal("US", matched);
        Assert.Equal(Regime.OptIn, table.Resolve((new string(' ', 100_000) + "us-ca").AsSpan(), out matched));
        Assert.Equal("US-CA", matched);
    }

    [Property(MaxTest = 500, Arbitrary = [typeof(Arbitraries)])]
    public bool Resolve_AnyRegion_AtLeastInvariantReadingAndDefault(RegionText region)
    {
        foreach (var csv in new[] { LaxDefaultTable, StrictDefaultTable })
        {
            var table = TestData.Jurisdictions(csv);
            var trimmed = region.Text.Trim();
            var invariant = InvariantLookup(table, trimmed.ToUpperInvariant());
            var actual = table.Resolve(region.Text.AsSpan(), out _);
            var plain = trimmed.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
            if (actual < invariant || (!plain && actual < table.DefaultRegime) || (plain && actual != invariant))
            {
                return false;
            }
        }

        return true;
    }

    [Theory]
    [InlineData("*,opt-out\nUS,excluded\n", "US_CA")]
    [InlineData("*,opt-out\nUS,excluded\n", "us ca")]
    [InlineData("*,opt-out\nCN,excluded\n", "CN_1")]
    [InlineData("*,opt-out\nCN,excluded\n", "CN·11")]
    public void Resolve_RunReadAsDashInATableOfShortCodes_FindsTheCountry(string csv, string region)
    {
        // Readings are cut to one more character than the longest code; the dash a run of other characters stands for
        // must survive the cut, or with two-letter codes only "US_CA" would read as "US" (no country) and fall to `*`.
        var table = TestData.Jurisdictions(csv);

        Assert.Equal(Regime.Excluded, table.Resolve(region.AsSpan(), out var matched));
        Assert.Equal(region[..2].ToUpperInvariant(), matched);
    }

    /// <summary>How a region resolves does not depend on a row that matches none of its readings (SPEC 2.3 lookup per reading).</summary>
    [Property(MaxTest = 500, Arbitrary = [typeof(Arbitraries)])]
    public bool Resolve_AnyRegion_UnrelatedLongerCodeChangesNothing(RegionText region)
    {
        const string Table = "code,regime\nUS,excluded\nCN,excluded\nSY,excluded\nFI,opt-in\n*,opt-out\n";
        var shortCodes = TestData.Jurisdictions(Table);
        var withLongerCode = TestData.Jurisdictions(Table + "QQQQQQQQQQQQ,opt-in\n");

        var regime = shortCodes.Resolve(region.Text.AsSpan(), out var code);
        return regime == withLongerCode.Resolve(region.Text.AsSpan(), out var other) && code == other;
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(Arbitraries)])]
    public bool Resolve_PlainAsciiRegion_UnchangedInvariantLookup(AsciiRegionText region)
    {
        var table = TestData.Jurisdictions(StrictDefaultTable);
        var expected = InvariantLookup(table, region.Text.Trim().ToUpperInvariant());

        return table.Resolve(region.Text.AsSpan(), out _) == expected && table.Resolve(region.Text) == expected;
    }

    /// <summary>The lookup of SPEC 2.3 on one reading, written out independently: exact code, then country, then `*`.</summary>
    private static Regime InvariantLookup(JurisdictionTable table, string code)
    {
        if (code.Length > 0 && table.Rows.TryGetValue(code, out var regime))
        {
            return regime;
        }

        var dash = code.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && table.Rows.TryGetValue(code[..dash], out regime) ? regime : table.DefaultRegime;
    }

    /// <summary>A region as a record or a consent file might spell it.</summary>
    public sealed record RegionText(string Text)
    {
        public override string ToString() => string.Concat(Text.Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:x4}"));
    }

    /// <summary>A region of ASCII letters, digits, <c>-</c> and surrounding white space only.</summary>
    public sealed record AsciiRegionText(string Text);

    public static class Arbitraries
    {
        private static readonly string[] s_fragments =
        [
            "US", "us", "-", "CA", "ca", "CN", "SY", "FI", "ſ", "y", "ı", "R", "ﬁ", "ß", "Ｃ", "Ｎ", "\u001f", "\ud800", "é",
            " ", "_", "\u2010", "*", "İ", "0", "7", "\u0301", "\u00a0",
        ];

        private static readonly string[] s_asciiFragments = ["US", "us", "-", "CA", "ca", "cN", "FI", "x", "0", "7", " ", "\t"];

        public static Arbitrary<RegionText> Regions() => Concatenations(s_fragments).Select(t => new RegionText(t)).ToArbitrary();

        public static Arbitrary<AsciiRegionText> AsciiRegions() =>
            Concatenations(s_asciiFragments)
                .Where(t => t.Trim().All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
                .Select(t => new AsciiRegionText(t))
                .ToArbitrary();

        private static Gen<string> Concatenations(string[] fragments) =>
            from count in Gen.Choose(0, 5)
            from parts in Gen.ArrayOf(Gen.Elements(fragments), count)
            select string.Concat(parts);
    }
}
