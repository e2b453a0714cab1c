using System.Text;
using System.Text.Json;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Tests.Reliability;

/// <summary>What a run into memory streams produced.</summary>
internal sealed record InMemoryResult(FilterReport Report, byte[] Kept, string Rejections, IReadOnlyList<(string File, long Line, string Error)> Quarantine)
{
    internal string KeptText => Encoding.UTF8.GetString(Kept);
}

/// <summary>Runs <see cref="RecordFilter.RunAsync"/> into memory and checks conservation on every result.</summary>
internal static class InMemoryRun
{
    /// <summary>Alice and a few integer ids, all allowed under the test table (US is opt-out).</summary>
    internal const string Consent = """
        user_id,region,ai_training
        alice,US,granted
        bob,US,granted
        123456789012345678901234567890,US,granted
        -5,US,granted
        """;

    internal static RecordFilter Filter(ConsentFilterOptions? options = null, string consent = Consent) =>
        new(TestData.Policy(consent), options ?? new ConsentFilterOptions { MaxDegreeOfParallelism = 2 });

    internal static Task<InMemoryResult> RunAsync(RecordFilter filter, byte[] records) =>
        RunAsync(filter, RecordInput.FromStream(new MemoryStream(records), "records.jsonl"));

    internal static async Task<InMemoryResult> RunAsync(RecordFilter filter, params RecordInput[] inputs)
    {
        using var kept = new MemoryStream();
        using var rejections = new MemoryStream();
        using var quarantine = new MemoryStream();
        var report = await filter.RunAsync(inputs, new FilterOutputs(kept, rejections, quarantine));
        Assert.True(report.IsConserved);
        var totals = report.Totals;
        Assert.Equal(totals.Records, totals.Kept + totals.DroppedTotal + totals.QuarantinedTotal);

        var entries = new List<(string, long, string)>();
        foreach (var line in Encoding.UTF8.GetString(quarantine.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var entry = JsonDocument.Parse(line);
            var root = entry.RootElement;
            entries.Add((root.GetProperty("file").GetString()!, root.GetProperty("line").GetInt64(), root.GetProperty("error").GetString()!));
        }

        Assert.Equal(totals.QuarantinedTotal, entries.Count);
        var rejected = Encoding.UTF8.GetString(rejections.ToArray());
        Assert.Equal(totals.DroppedTotal, rejected.Count(c => c == '\n'));
        return new InMemoryResult(report, kept.ToArray(), rejected, entries);
    }
}
