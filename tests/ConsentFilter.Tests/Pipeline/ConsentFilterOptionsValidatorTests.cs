using ConsentFilter.Pipeline;
using Microsoft.Extensions.Options;

namespace ConsentFilter.Tests.Pipeline;

public class ConsentFilterOptionsValidatorTests
{
    private static ValidateOptionsResult Validate(ConsentFilterOptions options) => new ConsentFilterOptionsValidator().Validate(null, options);

    private static ConsentFilterOptions SeveralProblems()
    {
        var options = new ConsentFilterOptions
        {
            Purpose = " ",
            UserField = "meta.",
            RegionField = "region",
            IdField = "region",
            MaxLineLength = 0,
            BatchBytes = 100,
            ChannelCapacity = 0,
            MaxDegreeOfParallelism = -1,
            UserIdHashKey = string.Empty,
            MaxSnapshotAge = TimeSpan.Zero,
        };
        options.SubjectFields.Add(string.Empty);
        options.SubjectFields.Add("recipients");
        options.SubjectFields.Add("recipients");
        options.SubjectFields.Add("a..b");
        return options;
    }

    [Fact]
    public void Validate_Defaults_Success() => Assert.True(Validate(new ConsentFilterOptions()).Succeeded);

    [Fact]
    public void Validate_SeveralProblems_ReportsEveryOneInOrder()
    {
        var result = Validate(SeveralProblems());

        Assert.True(result.Failed);
        Assert.Equal(
            [
                "Purpose must not be empty.",
                "UserField 'meta.' has an empty segment.",
                "IdField 'region' is the same path as RegionField.",
                "SubjectFields[0] must not be empty.",
                "SubjectFields[2] 'recipients' is the same path as SubjectFields[1].",
                "SubjectFields[3] 'a..b' has an empty segment.",
                "MaxLineLength must be between 1 and 1073741824 bytes (was 0).",
                "BatchBytes must be between 4096 and 268435456 (was 100).",
                "ChannelCapacity must be at least 1 (was 0).",
                "MaxDegreeOfParallelism must be at least 1 (was -1).",
                "UserIdHashKey must be null or non-empty.",
                "MaxSnapshotAge must be positive (was 00:00:00).",
            ],
            result.Failures);
    }

    [Fact]
    public void ThrowIfInvalid_SeveralProblems_ExceptionListsEveryOne()
    {
        var e = Assert.Throws<OptionsValidationException>(() => ConsentFilterOptionsValidator.ThrowIfInvalid(SeveralProblems()));

        Assert.Equal(12, e.Failures.Count());
        Assert.Contains("MaxSnapshotAge", e.Message, StringComparison.Ordinal);
        Assert.Contains("Purpose", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RecordFilter_InvalidOptions_Throws()
    {
        var policy = TestData.Policy("user_id,ai_training\nu1,granted\n");

        Assert.Throws<OptionsValidationException>(() => new RecordFilter(policy, new ConsentFilterOptions { BatchBytes = 1 }));
    }

    public static TheoryData<Action<ConsentFilterOptions>, string> SingleProblems => new()
    {
        { o => o.Purpose = string.Empty, "Purpose must not be empty." },
        { o => o.UserField = string.Empty, "UserField must not be empty." },
        { o => o.RegionField = ".region", "RegionField '.region' has an empty segment." },
        { o => o.IdField = "user_id", "IdField 'user_id' is the same path as UserField." },
        { o => o.SubjectFields.Add("region"), "SubjectFields[0] 'region' is the same path as RegionField." },
        { o => o.MaxLineLength = ConsentFilterDefaults.MaxLineLengthLimit + 1, "MaxLineLength must be between 1 and 1073741824 bytes (was 1073741825)." },
        { o => o.MaxLineLength = -1, "MaxLineLength must be between 1 and 1073741824 bytes (was -1)." },
        { o => o.BatchBytes = 4095, "BatchBytes must be between 4096 and 268435456 (was 4095)." },
        { o => o.BatchBytes = (256 * 1024 * 1024) + 1, "BatchBytes must be between 4096 and 268435456 (was 268435457)." },
        { o => o.ChannelCapacity = -3, "ChannelCapacity must be at least 1 (was -3)." },
        { o => o.MaxDegreeOfParallelism = 0, "MaxDegreeOfParallelism must be at least 1 (was 0)." },
        { o => o.MaxSnapshotAge = TimeSpan.FromHours(-1), "MaxSnapshotAge must be positive (was -01:00:00)." },
    };

    [Theory]
    [MemberData(nameof(SingleProblems))]
    public void Validate_OneProblem_ExactlyThatMessage(Action<ConsentFilterOptions> breakIt, string expected)
    {
        ArgumentNullException.ThrowIfNull(breakIt);
        var options = new ConsentFilterOptions();
        breakIt(options);

        Assert.Equal([expected], Validate(options).Failures);
    }

    public static TheoryData<Action<ConsentFilterOptions>> BoundaryValues => new()
    {
        o => o.MaxLineLength = 1,
        o => o.MaxLineLength = ConsentFilterDefaults.MaxLineLengthLimit,
        o => o.BatchBytes = 4096,
        o => o.BatchBytes = 256 * 1024 * 1024,
        o => o.ChannelCapacity = 1,
        o => o.MaxDegreeOfParallelism = 1,
        o => o.UserIdHashKey = "k",
        o => o.MaxSnapshotAge = TimeSpan.FromTicks(1),
        o => o.UserField = "meta.author",
        o => o.SubjectFields.Add("meta.to"),
    };

    [Theory]
    [MemberData(nameof(BoundaryValues))]
    public void Validate_BoundaryValue_Success(Action<ConsentFilterOptions> setIt)
    {
        ArgumentNullException.ThrowIfNull(setIt);
        var options = new ConsentFilterOptions();
        setIt(options);

        Assert.True(Validate(options).Succeeded, Validate(options).FailureMessage);
    }
}
