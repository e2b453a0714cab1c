using ConsentFilter.DependencyInjection;
using ConsentFilter.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ConsentFilter.Tests.DependencyInjection;

/// <summary><c>AddConsentFilter</c> registers validated options and a factory that loads real files.</summary>
public sealed class ServiceCollectionTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("cf-di-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task AddConsentFilter_FactoryCreatesWorkingFilter()
    {
        var consent = Path.Combine(_temp, "c.csv");
        await File.WriteAllTextAsync(consent, "user_id,region,ai_training\nu1,US,granted\n");
        await File.WriteAllTextAsync(Path.Combine(_temp, "r.jsonl"), "{\"user_id\":\"u1\",\"to\":[\"u1\"]}\n{\"user_id\":\"u1\",\"to\":[\"u9\"]}\n");
        using var services = new ServiceCollection().AddConsentFilter(o => o.SubjectFields.Add("to")).BuildServiceProvider();

        using var filter = services.GetRequiredService<RecordFilterFactory>().Create(consent);
        var report = await filter.RunToFilesAsync([Path.Combine(_temp, "r.jsonl")], new FilterFileOutputs(Path.Combine(_temp, "out.jsonl")));

        Assert.Equal(1, report.Totals.Kept);
        Assert.Equal(1, report.Totals.Dropped(ConsentFilter.Decisions.DropReason.UnknownUser));
    }

    [Fact]
    public void AddConsentFilter_InvalidOptions_ListsEveryProblem()
    {
        using var services = new ServiceCollection().AddConsentFilter(o =>
        {
            o.Purpose = "";
            o.MaxLineLength = 0;
            o.ChannelCapacity = 0;
        }).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<ConsentFilterOptions>>().Value);
        Assert.Equal(3, error.Failures.Count());
    }
}
