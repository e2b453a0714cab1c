using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;
using ConsentFilter.Streaming;
using ConsentFilter.Tests.Jurisdictions;
using ConsentFilter.Tests.Reliability;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Decisions;

/// <summary>
/// SPEC 2.1 on every path a region takes: JSON records (escaped or not), the pipeline, CSV records, consent home
/// regions (CSV and compiled) and the typed API. The table's <c>*</c> is opt-out, so reading a region as <c>*</c> keeps it.
/// </summary>
public sealed class NonAsciiRegionDecisionTests
{
    private static readonly FieldPaths s_paths = new("user_id", "region", "id", []);

    /// <summary>User <c>u</c> has no home region and no grant: kept under <c>*</c>, dropped under any listed code.</summary>
    private static readonly string s_consent = string.Join('\n',
        "user_id,region,ai_training",
        "u,,unset",
        "home_sy,ſy,unset",
        "home_ir,ıR,unset",
        "home_fi,ﬁ,unset",
        "home_ss,ß,unset",
        "home_ctl,\u001fCN,unset",
        "home_fw,ＣＮ,unset",
        "home_plain,us-ca,unset",
        "home_none,,unset",
        string.Empty);

    private static ConsentPolicy Policy() => TestData.Policy(s_consent, NonAsciiRegionTests.LaxDefaultTable);

    private static (RecordVerdict Verdict, string Summary, ConsentPolicy Policy) DecideJson(string jsonRegion)
    {
        var bytes = Encoding.UTF8.GetBytes("{\"user_id\":\"u\",\"region\":\"" + jsonRegion + "\"}");
        var fields = new LineFields(s_paths);
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse(bytes, fields));
        var policy = Policy();
        var decider = new JsonRecordDecider(policy);
        var verdict = decider.Decide(bytes, fields);
        return (verdict, decider.SummaryRegion.ToString(), policy);
    }

    [Theory]
    [InlineData("ſy", DropReason.RegionExcluded, "SY")]
    [InlineData("\\u017fy", DropReason.RegionExcluded, "SY")]
    [InlineData("ıR", DropReason.RegionExcluded, "IR")]
    [InlineData("\\u0131r", DropReason.RegionExcluded, "IR")]
    [InlineData("ﬁ", DropReason.NoOptIn, "FI")]
    [InlineData("\\ufb01", DropReason.NoOptIn, "FI")]
    [InlineData("ß", DropReason.RegionExcluded, "SS")]
    [InlineData("CN-\\ud800", DropReason.RegionExcluded, "CN")]
    [InlineData("\\ud800CN", DropReason.RegionExcluded, "CN")]
    [InlineData("\\u001fCN", DropReason.RegionExcluded, "CN")]
    [InlineData("ＣＮ", DropReason.RegionExcluded, "CN")]
    [InlineData("\\uff43\\uff4e", DropReason.RegionExcluded, "CN")]
    [InlineData("US_CA", DropReason.NoOptIn, "US-CA")]
    public void Decide_JsonRegionReadAsStricterCode_Dropped(string jsonRegion, DropReason reason, string code)
    {
        var (verdict, _, _) = DecideJson(jsonRegion);

        Assert.Equal(reason, verdict.Reason);
        Assert.Equal(code, verdict.Region.Code);
    }

    [Theory]
    [InlineData("CN-\\ud800")]
    [InlineData("\\u017fy")]
    public void SummaryRegion_NonAsciiOrLoneSurrogate_ResolvesAsTheRecordDid(string jsonRegion)
    {
        var (verdict, summary, policy) = DecideJson(jsonRegion);

        Assert.StartsWith("=", summary, StringComparison.Ordinal);
        Assert.Equal(verdict.Region, policy.ResolveRegion(summary.AsSpan(1)));
        Assert.NotEqual("*", verdict.Region.Code);
    }

    [Fact]
    public async Task RunAsync_JsonRecordsWithNonAsciiRegions_OnlyPlainDefaultKept()
    {
        string[] regions = ["ſy", "\\u0131R", "\\ufb01", "ß", "CN-\\ud800", "\\u001fCN", "ＣＮ"];
        var lines = regions.Select((r, i) => $"{{\"id\":{i},\"user_id\":\"u\",\"region\":\"{r}\"}}").Append("{\"id\":99,\"user_id\":\"u\",\"region\":\"ZZ\"}");
        using var filter = new RecordFilter(Policy(), new ConsentFilterOptions { MaxDegreeOfParallelism = 2 });

        var result = await InMemoryRun.RunAsync(filter, Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));

        Assert.Equal("{\"id\":99,\"user_id\":\"u\",\"region\":\"ZZ\"}\n", result.KeptText);
        Assert.Equal(6, result.Report.Totals.Dropped(DropReason.RegionExcluded));
        Assert.Equal(1, result.Report.Totals.Dropped(DropReason.NoOptIn));
    }

    [Fact]
    public async Task RunToFilesAsync_CsvRecordsWithNonAsciiRegions_OnlyPlainDefaultKept()
    {
        using var dir = new TempDirectory();
        var csv = dir.Write("records.csv", "id,user_id,region\n1,u,ſy\n2,u,ıR\n3,u,ﬁ\n4,u,ß\n5,u,\u001fCN\n6,u,ＣＮ\n7,u,ZZ\n");

        var report = await new RecordFilter(Policy(), new ConsentFilterOptions { MaxDegreeOfParallelism = 2 })
            .RunToFilesAsync([csv], new FilterFileOutputs(dir.File("kept.csv")));

        Assert.Equal("id,user_id,region\n7,u,ZZ\n", File.ReadAllText(dir.File("kept.csv")));
        Assert.Equal(5, report.Totals.Dropped(DropReason.RegionExcluded));
        Assert.Equal(1, report.Totals.Dropped(DropReason.NoOptIn));
    }

    [Theory]
    [InlineData("home_sy", DropReason.RegionExcluded, "SY")]
    [InlineData("home_ir", DropReason.RegionExcluded, "IR")]
    [InlineData("home_fi", DropReason.NoOptIn, "FI")]
    [InlineData("home_ss", DropReason.RegionExcluded, "SS")]
    [InlineData("home_ctl", DropReason.RegionExcluded, "CN")]
    [InlineData("home_fw", DropReason.RegionExcluded, "CN")]
    public void Decide_ConsentHomeRegionReadAsStricterCode_Dropped(string user, DropReason reason, string code)
    {
        using var dir = new TempDirectory();
        var csv = TestData.Snapshot(s_consent);
        var table = TestData.Jurisdictions(NonAsciiRegionTests.LaxDefaultTable);
        var path = dir.File("consent.snap");
        CompiledSnapshotBuilder.Build(csv, path);
        using var compiled = CompiledSnapshot.Open(path);

        foreach (var snapshot in new IConsentSnapshot[] { csv, compiled })
        {
            var verdict = new ConsentPolicy(snapshot, table, TestData.Purpose).Decide(Encoding.UTF8.GetBytes(user), null);

            Assert.Equal(reason, verdict.Reason);
            Assert.Equal(code, verdict.Region.Code);
        }
    }

    [Fact]
    public void Explain_NonAsciiRecordRegion_DroppedAndSaysWhy()
    {
        var explanation = Policy().Explain("u", "ſy");

        Assert.Equal(DropReason.RegionExcluded, explanation.Verdict.Reason);
        Assert.Contains(explanation.Steps, s => s.Contains("not plain ASCII", StringComparison.Ordinal) && s.Contains("'SY'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("us-ca")]
    [InlineData(" Us-Ca ")]
    public void ResolveRegion_LowerCaseOnTypedApi_ResolvesLikeUpperCase(string region)
    {
        var match = Policy().ResolveRegion(region);

        Assert.Equal(new RegionMatch(Regime.OptIn, "US-CA"), match);
        Assert.Equal(DropReason.NoOptIn, Policy().Decide("u"u8, match).Reason);
    }

    [Fact]
    public void TryDecodeValue_KvHomeRegionWithLoneSurrogate_FalseSoHeldAsDenied()
    {
        var value = "{\"regions\":[\"CN-\\ud800\"],\"gpc\":false,\"minor\":false,\"purposes\":{\"ai_training\":\"granted\"}}"u8;

        Assert.False(ConsentKv.TryDecodeValue(value, [TestData.Purpose], out _));
    }

    [Fact]
    public void TryDecodeValue_KvNonAsciiHomeRegion_ResolvedByItsReadings()
    {
        var value = "{\"regions\":[\"\\u017fy\"],\"gpc\":false,\"minor\":false,\"purposes\":{\"ai_training\":\"granted\"}}"u8;

        Assert.True(ConsentKv.TryDecodeValue(value, [TestData.Purpose], out var consent));
        Assert.Equal(Regime.Excluded, Policy().Jurisdictions.Resolve(Assert.Single(consent.HomeRegions)));
    }
}
