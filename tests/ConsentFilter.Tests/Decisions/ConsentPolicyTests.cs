using System.Text;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Tests.Decisions;

public class ConsentPolicyTests
{
    private static readonly ConsentPolicy s_policy = TestData.Policy(DecisionData.Consent);

    private static SubjectVerdict Decide(ConsentPolicy policy, string user, string? recordRegion) =>
        policy.Decide(Encoding.UTF8.GetBytes(user), recordRegion is null ? null : policy.ResolveRegion(RegionCode.Normalize(recordRegion)));

    private static void AssertVerdict(SubjectVerdict verdict, DropReason reason, string? code)
    {
        Assert.Equal(reason, verdict.Reason);
        if (code is not null)
        {
            Assert.Equal(code, verdict.Region.Code);
        }
    }

    // Step 1

    [Theory]
    [InlineData(null)]
    [InlineData("US")]
    [InlineData("DE")]
    [InlineData("CN")]
    public void Decide_UnknownUserByDefault_UnknownUser(string? region) =>
        AssertVerdict(Decide(s_policy, "ghost", region), DropReason.UnknownUser, null);

    [Theory]
    [InlineData("US_GRANTED")]
    [InlineData(" us_granted")]
    [InlineData("us_granted ")]
    [InlineData("42.0")]
    [InlineData("+42")]
    public void Decide_IdDiffersOnlyInCaseSpaceOrSpelling_UnknownUser(string user) =>
        AssertVerdict(Decide(s_policy, user, "US"), DropReason.UnknownUser, null);

    [Theory]
    [InlineData("US", DropReason.None, "US")]
    [InlineData("us-ny", DropReason.None, "US")]
    [InlineData("us-ca", DropReason.None, "US-CA")]
    [InlineData("DE", DropReason.NoOptIn, "DE")]
    [InlineData("CN", DropReason.RegionExcluded, "CN")]
    [InlineData(null, DropReason.RegionExcluded, "*")]
    [InlineData("", DropReason.RegionExcluded, "*")]
    public void Decide_UnknownUserTreatedAsUnset_JudgedByRecordRegionAlone(string? region, DropReason reason, string code)
    {
        var policy = TestData.Policy(DecisionData.Consent, unknownUsers: UnknownUserPolicy.TreatAsUnset);

        AssertVerdict(Decide(policy, "ghost", region), reason, code);
    }

    [Fact]
    public void Decide_UnknownUserTreatedAsUnsetWithOpenDefault_Allowed()
    {
        var policy = TestData.Policy(DecisionData.Consent, DecisionData.OpenTable, UnknownUserPolicy.TreatAsUnset);

        AssertVerdict(Decide(policy, "ghost", null), DropReason.None, "*");
    }

    [Theory]
    [InlineData("us_denied", DropReason.OptedOut)]
    [InlineData("minor_us", DropReason.Minor)]
    [InlineData("us_gpc", DropReason.GpcOptOut)]
    public void Decide_KnownUserUnderTreatAsUnset_OwnConsentStillCounts(string user, DropReason reason)
    {
        var policy = TestData.Policy(DecisionData.Consent, unknownUsers: UnknownUserPolicy.TreatAsUnset);

        AssertVerdict(Decide(policy, user, "US"), reason, null);
    }

    // Step 2: minor beats every later step.

    [Theory]
    [InlineData("minor_us", null)]
    [InlineData("minor_us", "US")]
    [InlineData("minor_us", "CN")]
    [InlineData("minor_cn", null)]
    [InlineData("minor_cn", "US")]
    [InlineData("minor_de_gpc", null)]
    [InlineData("minor_de_gpc", "US")]
    public void Decide_Minor_MinorWhateverRegionAndConsent(string user, string? region) =>
        AssertVerdict(Decide(s_policy, user, region), DropReason.Minor, null);

    // Step 3: most restrictive of home and record region, in both directions.

    [Theory]
    [InlineData("de_unset", "US", DropReason.NoOptIn, "DE")]
    [InlineData("us_unset", "DE", DropReason.NoOptIn, "DE")]
    [InlineData("de_granted", "US", DropReason.None, "DE")]
    [InlineData("us_granted", "DE", DropReason.None, "DE")]
    [InlineData("us_granted", "CN", DropReason.RegionExcluded, "CN")]
    [InlineData("cn_granted", "US", DropReason.RegionExcluded, "CN")]
    [InlineData("de_granted", "CN", DropReason.RegionExcluded, "CN")]
    [InlineData("cn_granted", "DE", DropReason.RegionExcluded, "CN")]
    [InlineData("us_granted", "CN-11", DropReason.RegionExcluded, "CN")]
    [InlineData("us_granted", "XX", DropReason.RegionExcluded, "*")]
    [InlineData("us_gpc", "DE", DropReason.NoOptIn, "DE")]
    public void Decide_HomeAndRecordRegion_MostRestrictiveWins(string user, string region, DropReason reason, string code) =>
        AssertVerdict(Decide(s_policy, user, region), reason, code);

    [Theory]
    [InlineData("multi_unset", DropReason.NoOptIn, "DE")]
    [InlineData("multi_granted", DropReason.RegionExcluded, "CN")]
    public void Decide_SeveralHomeRegions_MostRestrictiveWins(string user, DropReason reason, string code) =>
        AssertVerdict(Decide(s_policy, user, null), reason, code);

    [Theory]
    [InlineData("nohome_granted", DropReason.RegionExcluded)]
    [InlineData("nohome_unset", DropReason.RegionExcluded)]
    public void Decide_NoRegionAtAll_DefaultRow(string user, DropReason reason) =>
        AssertVerdict(Decide(s_policy, user, null), reason, "*");

    [Theory]
    [InlineData("nohome_granted", DropReason.None)]
    [InlineData("nohome_unset", DropReason.None)]
    public void Decide_NoRegionAtAllWithOpenDefault_DefaultRowAllows(string user, DropReason reason)
    {
        var policy = TestData.Policy(DecisionData.Consent, DecisionData.OpenTable);

        AssertVerdict(Decide(policy, user, null), reason, "*");
    }

    [Theory]
    [InlineData("nohome_granted", "", DropReason.RegionExcluded)]
    [InlineData("nohome_granted", "  ", DropReason.RegionExcluded)]
    [InlineData("us_granted", "", DropReason.RegionExcluded)]
    public void Decide_EmptyRecordRegion_ResolvesToDefault(string user, string region, DropReason reason) =>
        AssertVerdict(Decide(s_policy, user, region), reason, "*");

    [Fact]
    public void Decide_EmptyRecordRegionWithOpenDefault_Allowed() =>
        AssertVerdict(Decide(TestData.Policy(DecisionData.Consent, DecisionData.OpenTable), "us_granted", ""), DropReason.None, "US");

    [Fact]
    public void Decide_NoDefaultRowInTable_UnknownRegionsExcluded()
    {
        var policy = TestData.Policy(DecisionData.Consent, "US,opt-out\n");

        AssertVerdict(Decide(policy, "nohome_granted", null), DropReason.RegionExcluded, "*");
        AssertVerdict(Decide(policy, "us_granted", "FR"), DropReason.RegionExcluded, "*");
        AssertVerdict(Decide(policy, "us_granted", null), DropReason.None, "US");
    }

    [Theory]
    [InlineData("ca_unset", DropReason.None, "US-CA")]
    [InlineData("ca_gpc", DropReason.GpcOptOut, "US-CA")]
    public void Decide_SubdivisionHomeRegion_ExactCodeFirst(string user, DropReason reason, string code) =>
        AssertVerdict(Decide(s_policy, user, null), reason, code);

    // Step 4

    [Theory]
    [InlineData("cn_granted")]
    [InlineData("cn_denied")]
    public void Decide_ExcludedRegion_RegionExcludedWhateverConsent(string user) =>
        AssertVerdict(Decide(s_policy, user, null), DropReason.RegionExcluded, "CN");

    // Step 5

    [Theory]
    [InlineData("us_denied", null, "US")]
    [InlineData("us_gpc_denied", null, "US")]
    [InlineData("de_denied", null, "DE")]
    [InlineData("us_denied", "DE", "DE")]
    [InlineData("de_denied", "US", "DE")]
    public void Decide_Denied_OptedOutInEveryRegime(string user, string? region, string code) =>
        AssertVerdict(Decide(s_policy, user, region), DropReason.OptedOut, code);

    // Step 6

    [Theory]
    [InlineData("de_unset", DropReason.NoOptIn)]
    [InlineData("de_gpc", DropReason.NoOptIn)]
    [InlineData("de_granted", DropReason.None)]
    [InlineData("de_gpc_granted", DropReason.None)]
    public void Decide_OptInRegime_OnlyGrantAllows(string user, DropReason reason) =>
        AssertVerdict(Decide(s_policy, user, null), reason, "DE");

    // Step 7

    [Theory]
    [InlineData("us_gpc", DropReason.GpcOptOut)]
    [InlineData("us_gpc_granted", DropReason.None)]
    [InlineData("us_gpc_denied", DropReason.OptedOut)]
    [InlineData("us_unset", DropReason.None)]
    [InlineData("us_granted", DropReason.None)]
    public void Decide_OptOutRegimeWithGpc_DropsOnlyUnset(string user, DropReason reason) =>
        AssertVerdict(Decide(s_policy, user, null), reason, "US");

    // Explain

    [Theory]
    [InlineData("ghost", null)]
    [InlineData("ghost", "US")]
    [InlineData("minor_cn", "US")]
    [InlineData("cn_denied", null)]
    [InlineData("us_denied", "de")]
    [InlineData("de_unset", null)]
    [InlineData("us_gpc", " us-ca ")]
    [InlineData("us_gpc_granted", null)]
    [InlineData("nohome_granted", "")]
    [InlineData("multi_unset", "US")]
    [InlineData("42", "US")]
    public void Explain_AnyUser_SameVerdictAsDecideWithSteps(string user, string? region)
    {
        var explanation = s_policy.Explain(user, region);

        Assert.Equal(Decide(s_policy, user, region), explanation.Verdict);
        Assert.Equal(user, explanation.UserId);
        Assert.Equal(TestData.Purpose, explanation.Purpose);
        Assert.StartsWith("record region", explanation.Steps[0], StringComparison.Ordinal);
        Assert.StartsWith("1. ", explanation.Steps[1], StringComparison.Ordinal);
        var expectedEnd = explanation.Verdict.IsAllowed ? "allowed" : "dropped: " + explanation.Verdict.Reason.ToName();
        Assert.EndsWith(expectedEnd, explanation.Steps[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_AllowedUser_ListsEveryStep()
    {
        var steps = s_policy.Explain("de_gpc_granted", "US").Steps;

        Assert.Equal("record region 'US' → table code 'US' (opt-out)", steps[0]);
        Assert.Contains(steps, s => s.StartsWith("1. user found: consent granted", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.StartsWith("   home region 'DE'", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.StartsWith("2. not a minor", StringComparison.Ordinal));
        Assert.StartsWith("8. opt-in regime with consent granted (GPC ignored: explicit grant)", steps[^1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("de_gpc_granted", "US")]
    [InlineData("de_gpc_granted", null)]
    [InlineData("ghost", null)]
    public void Explain_AnyUser_NumbersItsStepsOneByOneInOrder(string user, string? region)
    {
        var numbers = s_policy.Explain(user, region).Steps
            .Where(s => s.Length > 2 && char.IsAsciiDigit(s[0]) && s[1] == '.')
            .Select(s => s[0] - '0')
            .ToList();

        Assert.Equal(Enumerable.Range(1, numbers.Count), numbers);
    }

    [Fact]
    public void Explain_UnknownUser_StopsAtStep1()
    {
        var steps = s_policy.Explain("ghost", null).Steps;

        Assert.Equal(["record region: none", "1. user not in the snapshot → dropped: unknown_user"], steps);
    }

    // Construction

    [Fact]
    public void Constructor_PurposeNotInSnapshot_ArgumentException() =>
        Assert.Throws<ArgumentException>(() => new ConsentPolicy(TestData.Snapshot(DecisionData.Consent), JurisdictionTable.BuiltIn, "marketing"));

    [Fact]
    public void Constructor_SeveralPurposes_DecidesTheOneAsked()
    {
        var snapshot = TestData.Snapshot("user_id,region,ai_training,marketing\nu1,US,denied,granted\n", "ai_training", "marketing");
        var table = TestData.Jurisdictions(TestData.Table);

        Assert.Equal(DropReason.OptedOut, new ConsentPolicy(snapshot, table, "ai_training").Decide("u1"u8, null).Reason);
        Assert.Equal(DropReason.None, new ConsentPolicy(snapshot, table, "marketing").Decide("u1"u8, null).Reason);
    }

    [Fact]
    public void DropReasonNames_EveryReason_ReportKey() =>
        Assert.Equal(
            ["unknown_user", "minor", "region_excluded", "opted_out", "no_opt_in", "gpc_opt_out"],
            DropReasonNames.All.Select(r => r.ToName()));
}
