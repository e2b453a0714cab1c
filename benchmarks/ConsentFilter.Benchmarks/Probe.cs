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
        if (args.FirstOrDefault() == "load")
        {
            var consent = CorpusGenerator.Generate(Path.Combine(Path.GetTempPath(), "consentfilter-bench"), 1_000_000, 200_000, 42).Consent;
            for (var round = 0; round < 3; round++)
            {
                var watch = Stopwatch.StartNew();
                var loaded = ConsentSnapshot.LoadCsv(consent, ["ai_training"]);
                var load = watch.Elapsed.TotalMilliseconds;
                watch.Restart();
                using var compiled = CompiledSnapshotBuilder.CompileInMemory(loaded);
                Console.WriteLine($"consent CSV load {load:F0} ms, compile in memory {watch.Elapsed.TotalMilliseconds:F0} ms ({loaded.Users.Count:N0} users)");
            }

            return 0;
        }

        if (args.FirstOrDefault() == "startup" && args.Length > 1)
        {
            // probe startup CSV [rounds]: the filter's start-up compile of a consent CSV, repeated (for a profiler).
            var rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
            for (var round = 0; round < rounds; round++)
            {
                var watch = Stopwatch.StartNew();
                using var opened = SnapshotFiles.OpenForLookups(args[1], ["ai_training"]) as IDisposable;
                Console.WriteLine($"start-up compile {watch.Elapsed.TotalMilliseconds:F0} ms ({opened?.GetType().Name})");
            }

            return 0;
        }

        if (args.FirstOrDefault() == "parquet")
        {
            return ParquetProbe.Run(args[1..]);
        }

        if (args.FirstOrDefault() == "parse")
        {
            ParseStages();
            return 0;
        }

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

    /// <summary>One thread, 200,000 corpus lines in memory: what each stage of the per-line parse costs.</summary>
    private static void ParseStages()
    {
        var corpus = CorpusGenerator.Generate(Path.Combine(Path.GetTempPath(), "consentfilter-bench"), 1_000_000, 200_000, 42);
        var lines = File.ReadLines(corpus.Records).Take(200_000).Select(System.Text.Encoding.UTF8.GetBytes).ToArray();
        var fields = new Records.LineFields(new Records.FieldPaths("user_id", "region", "id", ["recipients"]));
        void Time(string name, Func<byte[], int> stage)
        {
            var sink = 0;
            for (var round = 0; round < 2; round++)
            {
                var clock = Stopwatch.StartNew();
                foreach (var line in lines)
                {
                    sink += stage(line);
                }

                if (round == 1)
                {
                    Console.WriteLine($"{name,-40} {clock.Elapsed.TotalMilliseconds * 1e6 / lines.Length,8:F0} ns/line ({sink})");
                }
            }
        }

        Time("Utf8.IsValid", l => System.Text.Unicode.Utf8.IsValid(l) ? 1 : 0);
        Time("Utf8Validator.IsValid (table lookups)", l => Internal.Utf8Validator.IsValid(l) ? 1 : 0);
        Time("Utf8JsonReader, every token", l =>
        {
            var reader = new System.Text.Json.Utf8JsonReader(l);
            var n = 0;
            while (reader.Read())
            {
                n++;
            }

            return n;
        });
        Time("JsonLineParser.Parse (validation + fields)", l => (int)Records.JsonLineParser.Parse(l, fields));
    }
}
