using System.Text;
using ConsentFilter.Decisions;
using ConsentFilter.Records;
using ConsentFilter.Tests.Decisions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Records;

public class JsonRecordDeciderTests
{
    private static readonly FieldPaths s_paths = new("user_id", "region", "id", ["recipients", "mentions"]);

    private static RecordVerdict Decide(string line, UnknownUserPolicy unknownUsers = UnknownUserPolicy.Drop)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var fields = new LineFields(s_paths);
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse(bytes, fields));
        return new JsonRecordDecider(TestData.Policy(DecisionData.Consent, unknownUsers: unknownUsers)).Decide(bytes, fields);
    }

    [Theory]
    [InlineData("{\"user_id\":\"us_granted\"}", "US")]
    [InlineData("{\"user_id\":\"us_granted\",\"recipients\":[\"us_unset\",\"de_granted\"],\"mentions\":\"ca_unset\"}", "US")]
    [InlineData("{\"user_id\":\"de_granted\",\"region\":\"US\",\"recipients\":[\"us_granted\"]}", "DE")]
    [InlineData("{\"user_id\":\"us_granted\",\"recipients\":[\"us_granted\",\"us_granted\"]}", "US")]
    [InlineData("{\"user_id\":\"us_granted\",\"recipients\":[],\"mentions\":[]}", "US")]
    public void Decide_EverySubjectAllowed_KeptWithAuthorRegion(string line, string code)
    {
        var verdict = Decide(line);

        Assert.True(verdict.IsKept);
        Assert.Equal(0, verdict.Subject);
        Assert.Equal(code, verdict.Region.Code);
    }

    [Theory]
    [InlineData("{\"user_id\":\"ghost\",\"recipients\":[\"us_denied\"]}", DropReason.UnknownUser, 0)]
    [InlineData("{\"user_id\":\"us_denied\",\"recipients\":[\"ghost\"]}", DropReason.OptedOut, 0)]
    [InlineData("{\"user_id\":\"us_granted\",\"recipients\":[\"us_granted\",\"us_denied\",\"ghost\"]}", DropReason.OptedOut, 2)]
    [InlineData("{\"user_id\":\"us_granted\",\"recipients\":[\"ghost\"],\"mentions\":[\"us_denied\"]}", DropReason.UnknownUser, 1)]
    [InlineData("{\"user_id\":\"us_granted\",\"recipients\":[],\"mentions\":[\"us_denied\"]}", DropReason.OptedOut, 1)]
    [InlineData("{\"user_id\":\"us_granted\",\"mentions\":[\"minor_us\"],\"recipients\":[\"us_gpc\"]}", DropReason.GpcOptOut, 1)]
    [InlineData("{\"user_id\":\"us_granted\",\"recipients\":\"us_unset\",\"mentions\":[\"cn_granted\",\"minor_us\"]}", DropReason.RegionExcluded, 2)]
    [InlineData("{\"user_id\":\"us_granted\",\"recipients\":[\"us_unset\",\"de_unset\"]}", DropReason.NoOptIn, 2)]
    public void Decide_SomeSubjectFails_FirstFailingSubjectsReasonAndIndex(string line, DropReason reason, int subject)
    {
        var verdict = Decide(line);

        Assert.Equal(reason, verdict.Reason);
        Assert.Equal(subject, verdict.Subject);
    }

    [Fact]
    public void Decide_CoSubjectWithOwnHomeRegion_JudgedByItsRegion()
    {
        var verdict = Decide("{\"user_id\":\"us_granted\",\"recipients\":[\"de_unset\"]}");

        Assert.Equal(DropReason.NoOptIn, verdict.Reason);
        Assert.Equal(1, verdict.Subject);
        Assert.Equal("DE", verdict.Region.Code);
    }

    [Theory]
    [InlineData(null, DropReason.None, 0)]
    [InlineData("DE", DropReason.NoOptIn, 1)]
    [InlineData("CN", DropReason.RegionExcluded, 0)]
    public void Decide_RecordRegion_AppliesToCoSubjectsToo(string? region, DropReason reason, int subject)
    {
        var regionMember = region is null ? string.Empty : $",\"region\":\"{region}\"";
        var verdict = Decide("{\"user_id\":\"de_granted\",\"recipients\":[\"us_unset\"]" + regionMember + "}");

        Assert.Equal(reason, verdict.Reason);
        Assert.Equal(subject, verdict.Subject);
    }

    [Fact]
    public void Decide_UnknownCoSubjectTreatedAsUnset_JudgedByRecordRegion()
    {
        Assert.True(Decide("{\"user_id\":\"us_granted\",\"region\":\"US\",\"recipients\":[\"ghost\"]}", UnknownUserPolicy.TreatAsUnset).IsKept);
        var verdict = Decide("{\"user_id\":\"us_granted\",\"recipients\":[\"ghost\"]}", UnknownUserPolicy.TreatAsUnset);
        Assert.Equal(DropReason.RegionExcluded, verdict.Reason);
        Assert.Equal(1, verdict.Subject);
    }

    [Theory]
    [InlineData("{\"user_id\":42}")]
    [InlineData("{\"user_id\":-5}")]
    [InlineData("{\"user_id\":\"42\"}")]
    [InlineData("{\"user_id\":\"us\\u005fgranted\"}")]
    [InlineData("{\"user\\u005fid\":\"us_granted\"}")]
    [InlineData("{\"user_id\":\"us_granted\",\"recipients\":[42,\"-5\",-5]}")]
    public void Decide_IdSpellings_MatchSnapshotIds(string line) => Assert.True(Decide(line).IsKept);

    [Theory]
    [InlineData("{\"user_id\":\"US_GRANTED\"}")]
    [InlineData("{\"user_id\":\" us_granted\"}")]
    [InlineData("{\"user_id\":\"us_granted \"}")]
    [InlineData("{\"user_id\":\"042\"}")]
    [InlineData("{\"user_id\":\"\\ud800\"}")]
    public void Decide_IdNotExactlyInSnapshot_UnknownUser(string line) => Assert.Equal(DropReason.UnknownUser, Decide(line).Reason);

    [Theory]
    [InlineData("DE")]
    [InlineData("de")]
    [InlineData(" De ")]
    [InlineData("\\u0044E")]
    [InlineData("DE-BY")]
    public void Decide_RecordRegionSpellings_ResolveToOptIn(string region)
    {
        var verdict = Decide("{\"user_id\":\"us_unset\",\"region\":\"" + region + "\"}");

        Assert.Equal(DropReason.NoOptIn, verdict.Reason);
        Assert.Equal("DE", verdict.Region.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("XX")]
    [InlineData("\\ud800")]
    public void Decide_RecordRegionMatchingNoCode_DefaultApplies(string region)
    {
        var verdict = Decide("{\"user_id\":\"us_granted\",\"region\":\"" + region + "\"}");

        Assert.Equal(DropReason.RegionExcluded, verdict.Reason);
        Assert.Equal("*", verdict.Region.Code);
    }

    [Fact]
    public void Decide_LongEscapedIds_DecodedIntoGrowingScratch()
    {
        var id = new string('x', 1000);
        var escaped = string.Concat(Enumerable.Repeat("\\u0078", 1000));
        var policy = TestData.Policy($"user_id,region,ai_training\n{id},US,granted\n");
        var bytes = Encoding.UTF8.GetBytes("{\"user_id\":\"" + escaped + "\",\"recipients\":[\"" + escaped + "\"]}");
        var fields = new LineFields(s_paths);
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse(bytes, fields));

        Assert.True(new JsonRecordDecider(policy).Decide(bytes, fields).IsKept);
    }

    /// <summary>Regions a record may carry: table codes, subdivisions, case and space variants, escapes, non-ASCII readings,
    /// numbers, long and unknown ones — more than the decider's region cache has slots, so entries collide and are replaced.</summary>
    private static readonly string[] s_regions =
    [
        "\"US\"", "\"us\"", "\" US \"", "\"US-CA\"", "\"us-ca\"", "\"US_CA\"", "\"DE\"", "\"de\"", "\"DE-BY\"", "\"FR\"", "\"GB\"", "\"CN\"",
        "\"IR\"", "\"ıR\"", "\"\\u0131r\"", "\"ſy\"", "\"ß\"", "\"ＣＮ\"", "\"\\u0055\\u0053\"", "\"\"", "\" \"", "\"ZZ\"", "\"XX-YY\"",
        "\"CH\"", "\"ch\"", "\"NO\"", "\"IS\"", "\"LI\"", "\"BR\"", "\"IN\"", "\"JP\"", "\"KR\"", "\"AU\"", "\"CA\"", "\"CA-QC\"",
        "\"united-states\"", "\"CN-\\ud800\"", "\"ABCDEFGH\"", "\"ABCDEFG\"", "\"DEU\"", "1", "12", "\"1\"",
    ];

    [Property(MaxTest = 60)]
    public Property Decide_OneDeciderForManyRecords_SameVerdictAndSummaryAsAFreshOne() => Prop.ForAll(
        Gen.ArrayOf(Gen.Zip(Gen.Elements(s_regions), Gen.Elements("us_granted", "us_unset", "de_granted", "us_denied")))
            .Select(a => a.Take(200).ToArray()).ToArbitrary(),
        records =>
        {
            // The decider keeps resolved regions between records: whatever came before, a record's verdict and its
            // manifest summary region are those a decider that never saw another record gives.
            var policy = TestData.Policy(DecisionData.Consent);
            var shared = new JsonRecordDecider(policy);
            var fields = new LineFields(s_paths);
            foreach (var (region, user) in records)
            {
                var bytes = Encoding.UTF8.GetBytes($"{{\"user_id\":\"{user}\",\"region\":{region}}}");
                if (JsonLineParser.Parse(bytes, fields) != MalformedKind.None)
                {
                    continue;
                }

                var verdict = shared.Decide(bytes, fields);
                var summary = shared.SummaryRegion.ToString();
                var fresh = new JsonRecordDecider(policy);
                if (verdict != fresh.Decide(bytes, fields) || summary != fresh.SummaryRegion.ToString())
                {
                    return false.Label($"{user} {region}: {verdict} '{summary}'");
                }
            }

            return true.ToProperty();
        });
}
