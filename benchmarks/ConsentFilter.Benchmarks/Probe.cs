using System.Diagnostics;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Benchmarks;

/// <summary>Times the stages of one in-process run (snapshot load, pipeline to a null stream) for quick diagnosis.</summary>
internal static class Probe
{
    internal static async Task<int> RunAsync(string[] args)
    {
        var corpus = CorpusGenerator.Generate(Path.Combine(Path.GetTempPath(), "consentfilter-bench"), 1_000_000, 200_000, 42);
        var clock = Stopwatch.StartNew();
        var snapshot = ConsentSnapshot.LoadCsv(corpus.Consent, ["ai_training"]);
        Console.WriteLine($"snapshot load: {clock.Elapsed.TotalSeconds:F2} s");
        var policy = new ConsentPolicy(snapshot, JurisdictionTable.LoadFile(corpus.Jurisdictions), "ai_training");
        var threads = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : Environment.ProcessorCount;
        var options = new ConsentFilterOptions { MaxDegreeOfParallelism = threads };
        options.SubjectFields.Add("recipients");
        var filter = new RecordFilter(policy, options);
        for (var i = 0; i < 3; i++)
        {
            clock.Restart();
            var report = await filter.RunAsync([RecordInput.FromFile(corpus.Records)], new FilterOutputs(Stream.Null)).ConfigureAwait(false);
            Console.WriteLine($"pipeline to null ({threads} workers): {clock.Elapsed.TotalSeconds:F2} s, kept {report.Totals.Kept}");
        }

        return 0;
    }
}
