using System.Text;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Tests.Consent;

/// <summary>A consent CSV or jurisdiction table separated by <c>;</c>, tab or <c>|</c> is refused with the separator named.</summary>
public sealed class SeparatorHintTests
{
    [Theory]
    [InlineData(";", "';'")]
    [InlineData("\t", "tab")]
    [InlineData("|", "'|'")]
    public void LoadCsv_HeaderSeparatedByAnotherCharacter_NamesTheSeparator(string separator, string name)
    {
        var csv = string.Join(separator, "user_id", "region", "ai_training") + "\n" + string.Join(separator, "u1", "US", "granted") + "\n";

        var e = Assert.Throws<DataFileException>(() => TestData.Snapshot(csv, TestData.Purpose));

        Assert.Contains("missing required column 'user_id'", e.Message, StringComparison.Ordinal);
        Assert.Contains($"(the header looks separated by {name}; consent CSVs are comma-separated)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCsv_CommaHeaderWithoutUserId_SaysNothingAboutSeparators()
    {
        var e = Assert.Throws<DataFileException>(() => TestData.Snapshot("id;x,region,ai_training\nu1,US,granted\n", TestData.Purpose));

        Assert.EndsWith("missing required column 'user_id'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(";", "';'")]
    [InlineData("\t", "tab")]
    public void JurisdictionTableLoad_LinesSeparatedByAnotherCharacter_NamesTheSeparator(string separator, string name)
    {
        var csv = $"code{separator}regime{separator}note\nUS{separator}opt-out{separator}federal\n";

        var e = Assert.Throws<DataFileException>(() => JurisdictionTable.Load(Encoding.UTF8.GetBytes(csv), "table.csv"));

        Assert.Contains($"(the line looks separated by {name}; jurisdiction tables are comma-separated)", e.Message, StringComparison.Ordinal);
    }
}
