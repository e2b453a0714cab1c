using System.Text;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Tests.Jurisdictions;

/// <summary>Tables with effective_from: the latest row in force at the as-of day decides, per code.</summary>
public sealed class DatedTableTests : IDisposable
{
    private const string Dated = "code,regime,note,effective_from\n*,excluded,default,\nUS,opt-out,,\nHK,excluded,paused,2024-10-11\nHK,opt-out,opt-out from,2025-11-03\nHK,opt-in,same day is stricter,2025-11-03\n";
    private readonly string _temp = Directory.CreateTempSubdirectory("cf-dated-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData("2024-01-01", Regime.Excluded, "*")]
    [InlineData("2024-10-10", Regime.Excluded, "*")]
    [InlineData("2024-10-11", Regime.Excluded, "HK")]
    [InlineData("2025-11-02", Regime.Excluded, "HK")]
    [InlineData("2025-11-03", Regime.OptIn, "HK")]
    [InlineData("2026-06-01", Regime.OptIn, "HK")]
    public void Resolve_LatestRowInForce(string day, Regime expected, string code)
    {
        var table = JurisdictionTable.Load(Encoding.UTF8.GetBytes(Dated), "t.csv", DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(expected, table.Resolve("HK-HCW".AsSpan(), out var matched));
        Assert.Equal(code, matched);
        Assert.Equal(Regime.OptOut, table.Resolve("US"));
        Assert.Equal(DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture), table.AsOf);
    }

    [Fact]
    public void Load_UndatedTable_HasNoAsOf() =>
        Assert.Null(JurisdictionTable.Load("code,regime\nUS,opt-out\n"u8, "t.csv", new DateOnly(2026, 1, 1)).AsOf);

    [Theory]
    [InlineData("code,regime,note,effective_from\nHK,opt-out,,2025-13-01\n", 2, 4)]
    [InlineData("code,regime,note,effective_from\nHK,opt-out,\n", 2, 0)]
    public void Load_BadDatedRow_NamesLineAndColumn(string csv, int line, int column)
    {
        var error = Assert.Throws<DataFileException>(() => JurisdictionTable.Load(Encoding.UTF8.GetBytes(csv), "t.csv", null));
        Assert.Equal(line, error.Line);
        Assert.Equal(column, error.Column);
    }

    [Fact]
    public async Task Run_SameRecordsAtTwoDates_TwoResults()
    {
        var consent = Path.Combine(_temp, "c.csv");
        var table = Path.Combine(_temp, "t.csv");
        var records = Path.Combine(_temp, "r.jsonl");
        await File.WriteAllTextAsync(consent, "user_id,region,ai_training,updated_at\nh1,HK,unset,2025-01-01T00:00:00Z\nh2,HK,granted,2025-01-01T00:00:00Z\n");
        await File.WriteAllTextAsync(table, Dated);
        await File.WriteAllTextAsync(records, "{\"user_id\":\"h1\"}\n{\"user_id\":\"h2\"}\n");

        // Default: the snapshot's as-of day (2025-01-01): HK excluded.
        using (var before = RecordFilter.Load(consent, table, new ConsentFilterOptions()))
        {
            var report = await before.RunAsync([RecordInput.FromFile(records)], new FilterOutputs(Stream.Null));
            Assert.Equal(0, report.Totals.Kept);
            Assert.Equal(2, report.Totals.Dropped(ConsentFilter.Decisions.DropReason.RegionExcluded));
            Assert.Equal(new DateOnly(2025, 1, 1), report.Jurisdictions.AsOf);
        }

        // Overridden: 2026-01-01, HK opt-in: the explicit grant is kept, the unset user is not.
        using var after = RecordFilter.Load(consent, table, new ConsentFilterOptions { JurisdictionsAsOf = new DateOnly(2026, 1, 1) });
        var later = await after.RunAsync([RecordInput.FromFile(records)], new FilterOutputs(Stream.Null));
        Assert.Equal(1, later.Totals.Kept);
        Assert.Equal(1, later.Totals.Dropped(ConsentFilter.Decisions.DropReason.NoOptIn));
    }
}
