using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Properties;

public sealed partial class RecordFilterProperties
{
    /// <summary>
    /// The pipeline over a compiled snapshot (which also takes the workers' look-ahead lookup prefetches, fed by a quick
    /// scan of raw lines, hostile ones included) writes exactly what it writes over the CSV snapshot it came from.
    /// </summary>
    [Property(MaxTest = 40, Arbitrary = [typeof(Arbitraries)])]
    public async Task RunAsync_CompiledSnapshot_WritesExactlyWhatTheCsvSnapshotWrites(Scenario scenario)
    {
        var path = Path.Combine(Path.GetTempPath(), $"cf-prop-{Guid.NewGuid():N}.snap");
        try
        {
            var csvPolicy = scenario.BuildPolicy();
            CompiledSnapshotBuilder.Build((ConsentSnapshot)csvPolicy.Snapshot, path);
            using var compiled = CompiledSnapshot.Open(path);
            var compiledPolicy = new ConsentPolicy(compiled, csvPolicy.Jurisdictions, Scenario.Purpose, scenario.UnknownUsers);

            var fromCsv = await RunAsync(scenario, scenario.Options(2, SmallBatch));
            var fromCompiled = await RunWithPolicyAsync(compiledPolicy, scenario, scenario.Options(2, SmallBatch));

            Assert.Equal(fromCsv.Kept, fromCompiled.Kept);
            Assert.Equal(fromCsv.Rejections, fromCompiled.Rejections);
            Assert.Equal(fromCsv.Quarantine, fromCompiled.Quarantine);
            Assert.Equal(fromCsv.Report.Totals.Kept, fromCompiled.Report.Totals.Kept);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<RunOutput> RunWithPolicyAsync(ConsentPolicy policy, Scenario scenario, ConsentFilterOptions options)
    {
        var filter = new RecordFilter(policy, options);
        using var kept = new MemoryStream();
        using var rejections = new MemoryStream();
        using var quarantine = new MemoryStream();
        var report = await filter.RunAsync(
            [.. scenario.Inputs.Select((input, i) => RecordInput.FromStream(new MemoryStream(input.ToBytes()), InputName(i)))],
            new FilterOutputs(kept, rejections, quarantine));
        return new RunOutput(kept.ToArray(), rejections.ToArray(), quarantine.ToArray(), report);
    }
}
