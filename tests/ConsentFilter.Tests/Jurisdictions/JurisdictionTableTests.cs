using System.Security.Cryptography;
using System.Text;
using ConsentFilter.Internal;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Tests.Jurisdictions;

public class JurisdictionTableTests
{
    private const string Lookup = "US,opt-out\nUS-CA,opt-in\nDE,opt-in\nDE-BY,opt-out\nCN,excluded\n*,opt-out\n";

    private static JurisdictionTable Load(string csv) => TestData.Jurisdictions(csv);

    private static DataFileException LoadFails(string csv) => Assert.Throws<DataFileException>(() => Load(csv));

    private static byte[] BuiltInCsv()
    {
        using var stream = typeof(JurisdictionTable).Assembly.GetManifestResourceStream("ConsentFilter.builtin-jurisdictions.csv");
        Assert.NotNull(stream);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    [Theory]
    [InlineData("code,regime,note\nDE,opt-in,Germany\n")]
    [InlineData("code,regime\nDE,opt-in\n")]
    [InlineData(" Code , Regime \nDE,opt-in\n")]
    [InlineData("CODE,REGIME,NOTE\nDE,opt-in\n")]
    [InlineData("DE,opt-in,Germany\n")]
    [InlineData("DE,opt-in")]
    [InlineData("\nDE,opt-in\n\n")]
    public void Load_HeaderOptional_RowsLoaded(string csv)
    {
        var table = Load(csv);

        Assert.Equal(Regime.OptIn, Assert.Single(table.Rows, r => r.Key == "DE").Value);
        Assert.Single(table.Rows);
    }

    [Theory]
    [InlineData(" de , OPT-IN ", "DE", Regime.OptIn)]
    [InlineData("us-ca,Opt-Out", "US-CA", Regime.OptOut)]
    [InlineData("\tcn\t,\texcluded\t,\tnote\t", "CN", Regime.Excluded)]
    [InlineData(" * ,opt-in", "*", Regime.OptIn)]
    public void Load_CodesAndRegimes_TrimmedAndNormalized(string row, string code, Regime regime)
    {
        var table = Load(row + "\n");

        Assert.Equal(regime, table.Rows[code]);
    }

    [Theory]
    [InlineData("opt-out", "opt-in", Regime.OptIn)]
    [InlineData("opt-in", "opt-out", Regime.OptIn)]
    [InlineData("excluded", "opt-out", Regime.Excluded)]
    [InlineData("opt-out", "excluded", Regime.Excluded)]
    [InlineData("opt-in", "excluded", Regime.Excluded)]
    [InlineData("opt-out", "opt-out", Regime.OptOut)]
    public void Load_CodeListedTwice_KeepsMostRestrictive(string first, string second, Regime expected)
    {
        var table = Load($"code,regime\nDE,{first}\nFR,opt-out\nde ,{second}\n");

        Assert.Equal(expected, table.Resolve("DE"));
        Assert.Equal(2, table.Rows.Count);
    }

    [Theory]
    [InlineData("optin")]
    [InlineData("opt_in")]
    [InlineData("opt in")]
    [InlineData("allowed")]
    [InlineData("granted")]
    [InlineData("")]
    [InlineData("  ")]
    public void Load_InvalidRegime_ErrorNamesFileAndLine(string regime)
    {
        var e = LoadFails("code,regime,note\nUS,opt-out,x\nDE," + regime + ",x\n");

        Assert.Equal(TestData.TableName, e.File);
        Assert.Equal(3, e.Line);
        Assert.StartsWith($"{TestData.TableName}:3:", e.Message, StringComparison.Ordinal);
        Assert.Contains("regime", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_InvalidRegimeOnFirstLineWithoutHeader_ErrorNamesLine1()
    {
        var e = LoadFails("DE,opt-inn\nUS,opt-out\n");

        Assert.Equal(1, e.Line);
        Assert.StartsWith($"{TestData.TableName}:1:", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("DE")]
    [InlineData("DE,opt-in,note,extra")]
    [InlineData("DE,opt-in,\"a\",b,c")]
    public void Load_WrongFieldCount_ErrorNamesFileAndLine(string row)
    {
        var e = LoadFails("code,regime,note\nUS,opt-out\n\n" + row + "\n");

        Assert.Equal(TestData.TableName, e.File);
        Assert.Equal(4, e.Line);
        Assert.StartsWith($"{TestData.TableName}:4:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Utf8BomBeforeHeader_HeaderStillRecognised()
    {
        var table = JurisdictionTable.Load([0xEF, 0xBB, 0xBF, .. "code,regime\nDE,opt-in\n"u8], TestData.TableName);

        Assert.Equal(["DE"], table.Rows.Keys);
    }

    [Fact]
    public void Load_InvalidUtf8_ErrorNamesFileAndLine()
    {
        var e = Assert.Throws<DataFileException>(() => JurisdictionTable.Load([.. "code,regime\nDE,opt-in\nFR,opt-in,\""u8, 0xFF, .. "\"\n"u8], TestData.TableName));

        Assert.Equal(3, e.Line);
        Assert.StartsWith($"{TestData.TableName}:3: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EmptyCode_Error() => Assert.Equal(2, LoadFails("code,regime\n ,opt-in\n").Line);

    [Fact]
    public void Load_NoteWithCommasInQuotes_Loaded() =>
        Assert.Equal(Regime.OptIn, Load("DE,opt-in,\"Germany, EU; GDPR \"\"consent\"\"\"\n").Resolve("DE"));

    [Theory]
    [InlineData("US-CA", Regime.OptIn, "US-CA")]
    [InlineData("US-NY", Regime.OptOut, "US")]
    [InlineData("US", Regime.OptOut, "US")]
    [InlineData("DE", Regime.OptIn, "DE")]
    [InlineData("DE-BY", Regime.OptOut, "DE-BY")]
    [InlineData("DE-BE", Regime.OptIn, "DE")]
    [InlineData("CN-11", Regime.Excluded, "CN")]
    [InlineData("FR", Regime.OptOut, "*")]
    [InlineData("FR-75", Regime.OptOut, "*")]
    [InlineData("USA", Regime.OptOut, "*")]
    [InlineData("-US", Regime.OptOut, "*")]
    [InlineData("", Regime.OptOut, "*")]
    [InlineData("*", Regime.OptOut, "*")]
    public void Resolve_Code_ExactThenCountryThenDefault(string code, Regime regime, string matched)
    {
        var table = Load(Lookup);

        Assert.Equal(regime, table.Resolve(code.AsSpan(), out var actual));
        Assert.Equal(matched, actual);
    }

    [Fact]
    public void Resolve_DefaultDiffersFromCountry_DefaultUsedOnlyWhenNothingMatches()
    {
        var table = Load("US,opt-out\n*,excluded\n");

        Assert.Equal(Regime.OptOut, table.Resolve("US-WA"));
        Assert.Equal(Regime.Excluded, table.Resolve("CA-QC"));
    }

    [Theory]
    [InlineData("us-ca", Regime.OptIn)]
    [InlineData(" Us-Ca ", Regime.OptIn)]
    [InlineData("us-ny", Regime.OptOut)]
    [InlineData("de", Regime.OptIn)]
    [InlineData("cn", Regime.Excluded)]
    [InlineData("\tit ", Regime.OptOut)]
    public void Resolve_AnyCaseAndPadding_CaseInsensitive(string code, Regime expected) =>
        Assert.Equal(expected, Load(Lookup).Resolve(code));

    [Fact]
    public void Resolve_NoDefaultRow_Excluded()
    {
        var table = Load("code,regime\nUS,opt-out\n");

        Assert.Equal(Regime.Excluded, table.DefaultRegime);
        Assert.Equal(Regime.Excluded, table.Resolve("FR"));
        Assert.Equal(Regime.Excluded, table.Resolve(""));
        Assert.Equal(Regime.OptOut, table.Resolve("US-CA"));
    }

    [Fact]
    public void Load_EmptyTable_EverythingExcluded()
    {
        var table = Load("code,regime,note\n");

        Assert.Empty(table.Rows);
        Assert.Equal(Regime.Excluded, table.Resolve("US"));
    }

    [Fact]
    public void Load_Facts_Sha256AndSource()
    {
        var bytes = Encoding.UTF8.GetBytes(Lookup);
        var table = JurisdictionTable.Load(bytes, TestData.TableName);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), table.Sha256);
        Assert.Equal(TestData.TableName, table.Source);
        Assert.False(table.IsBuiltIn);
    }

    // The built-in table

    [Fact]
    public void BuiltIn_Loads_LabelledAndDefaultExcluded()
    {
        var table = JurisdictionTable.BuiltIn;

        Assert.True(table.IsBuiltIn);
        Assert.Equal(Regime.Excluded, table.DefaultRegime);
        Assert.Equal(Regime.Excluded, table.Rows["*"]);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(BuiltInCsv())), table.Sha256);
    }

    [Theory]
    [InlineData("DE", Regime.OptIn)]
    [InlineData("FR", Regime.OptIn)]
    [InlineData("GR", Regime.OptIn)]
    [InlineData("EL", Regime.OptIn)]
    [InlineData("GB", Regime.OptIn)]
    [InlineData("UK", Regime.OptIn)]
    [InlineData("CH", Regime.OptIn)]
    [InlineData("NO", Regime.OptIn)]
    [InlineData("CA", Regime.OptIn)]
    [InlineData("BR", Regime.OptIn)]
    [InlineData("GP", Regime.OptIn)]
    [InlineData("US", Regime.OptOut)]
    [InlineData("US-CA", Regime.OptOut)]
    [InlineData("US-WA", Regime.OptOut)]
    [InlineData("CN", Regime.Excluded)]
    [InlineData("XX", Regime.Excluded)]
    [InlineData("", Regime.Excluded)]
    public void BuiltIn_KnownCodes_ConservativeRegimes(string code, Regime expected) =>
        Assert.Equal(expected, JurisdictionTable.BuiltIn.Resolve(code));

    [Fact]
    public void BuiltIn_EveryRow_HasANote()
    {
        var rows = CsvRows.Read(new MemoryStream(BuiltInCsv()), "builtin").ToList();

        Assert.Equal(["code", "regime", "note"], rows[0].Fields);
        Assert.True(rows.Count > 60, $"only {rows.Count} rows");
        Assert.All(rows.Skip(1), row =>
        {
            Assert.Equal(3, row.Fields.Length);
            Assert.False(string.IsNullOrWhiteSpace(row.Fields[2]), $"row {row.LineNumber} ({row.Fields[0]}) has no note");
        });
    }

    [Fact]
    public void BuiltIn_DefaultRowNote_SaysNotLegalAdvice()
    {
        var rows = CsvRows.Read(new MemoryStream(BuiltInCsv()), "builtin");

        var star = Assert.Single(rows, r => r.Fields[0] == "*");
        Assert.Contains("not legal advice", star.Fields[2], StringComparison.OrdinalIgnoreCase);
    }
}
