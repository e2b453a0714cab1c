using BenchmarkDotNet.Attributes;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// The library in a long-running ETL process (issue 13, item 5): one <see cref="RecordFilter"/>, built once, filters
/// an in-memory realistic corpus again and again (warmed up, managed, tiered JIT as an embedding host has it), all
/// rules with co-subjects, kept records to a null stream. Reports time per corpus, so records/s is
/// <see cref="Records"/> / mean.
/// </summary>
/// <remarks>Run: <c>dotnet run -c Release --project benchmarks/ConsentFilter.Benchmarks -- --filter '*LibraryBenchmarks*'</c>.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class LibraryBenchmarks : IDisposable
{
    /// <summary>Records of the in-memory corpus (the first of the 1M-record realistic corpus).</summary>
    public const int Records = 100_000;

    private byte[] _jsonl = [];
    private byte[] _csv = [];
    private RecordFilter _filter = null!;
    private RecordFilter _csvFilter = null!;

    [GlobalSetup]
    public void Setup()
    {
        var corpus = CorpusGenerator.Generate(Path.Combine(Path.GetTempPath(), "consentfilter-bench"), 1_000_000, 200_000, 42);
        _jsonl = FirstLines(corpus.Records, Records, skipHeader: false);
        _csv = FirstLines(corpus.RecordsCsv, Records, skipHeader: true);
        var snapshot = ConsentSnapshot.LoadCsv(corpus.Consent, ["ai_training"]);
        var policy = new ConsentPolicy(snapshot, JurisdictionTable.LoadFile(corpus.Jurisdictions), "ai_training");
        _filter = new RecordFilter(policy, Options(RecordFormat.JsonLines));
        _csvFilter = new RecordFilter(policy, Options(RecordFormat.Csv));

        // The figure is per record: both corpora must hold exactly Records records, none quarantined.
        foreach (var (name, report) in new[] { ("JSON Lines", JsonLines().GetAwaiter().GetResult()), ("CSV", Csv().GetAwaiter().GetResult()) })
        {
            if (report.Totals.Records != Records || report.Totals.QuarantinedTotal != 0)
            {
                throw new InvalidOperationException($"{name}: {report.Totals.Records} records, {report.Totals.QuarantinedTotal} quarantined; expected {Records}, none");
            }
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Records)]
    public Task<FilterReport> JsonLines() => Run(_filter, _jsonl, RecordFormat.JsonLines);

    [Benchmark(OperationsPerInvoke = Records)]
    public Task<FilterReport> Csv() => Run(_csvFilter, _csv, RecordFormat.Csv);

    public void Dispose()
    {
        _filter?.Dispose();
        _csvFilter?.Dispose();
        GC.SuppressFinalize(this);
    }

    private static Task<FilterReport> Run(RecordFilter filter, byte[] corpus, RecordFormat format) =>
        filter.RunAsync([RecordInput.FromStream(new MemoryStream(corpus, writable: false), "corpus", format: format)], new FilterOutputs(Stream.Null));

    private static ConsentFilterOptions Options(RecordFormat format)
    {
        var options = new ConsentFilterOptions { RecordFormat = format };
        options.SubjectFields.Add("recipients");
        return options;
    }

    /// <summary>The first <paramref name="count"/> records of a file (CSV: with its header; rows may span lines).</summary>
    private static byte[] FirstLines(string path, int count, bool skipHeader)
    {
        using var stream = File.OpenRead(path);
        var memory = new MemoryStream();
        var buffer = new byte[1 << 16];
        var records = skipHeader ? -1 : 0;
        var quoted = false;
        int n;
        while (records < count && (n = stream.Read(buffer)) > 0)
        {
            var end = n;
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] == (byte)'"')
                {
                    quoted = skipHeader && !quoted;
                }
                else if (buffer[i] == (byte)'\n' && !quoted && ++records == count)
                {
                    end = i + 1;
                    break;
                }
            }

            memory.Write(buffer, 0, end);
        }

        return memory.ToArray();
    }
}
