using System.Text;
using System.Text.Json;
using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;
using ConsentFilter.Tests.Tabular;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Properties;

/// <summary>One data path: the same records as JSON Lines and as CSV give the same kept records, in order, and the same counts.</summary>
public sealed class FormatEquivalenceProperties
{
    [Property(MaxTest = 40)]
    public bool SameRecords_JsonLinesAndCsv_SameKeptSequenceAndCounts(PositiveInt seed, PositiveInt size, bool oneWorker)
    {
        var corpus = new TabularCorpus(1 + (size.Get % 400), seed.Get);
        var options = new ConsentFilterOptions { MaxDegreeOfParallelism = oneWorker ? 1 : 2, BatchBytes = 4096 };
        options.SubjectFields.Add("recipients");
        using var filter = new RecordFilter(TabularCorpus.Policy(), options);

        var (jsonl, keptJsonl) = Run(filter, corpus.Jsonl(), RecordFormat.JsonLines);
        var (csv, keptCsv) = Run(filter, corpus.Csv(), RecordFormat.Csv);

        var jsonIds = keptJsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("id").GetString()).ToList();
        var csvIds = keptCsv.Split('\n').Skip(1).Where(l => l.StartsWith('r')).Select(l => l.Split(',')[0]).ToList();
        return jsonIds.SequenceEqual(csvIds)
            && jsonl.Totals.Records == csv.Totals.Records
            && jsonl.Totals.Kept == csv.Totals.Kept
            && DropReasonNames.All.All(r => jsonl.Totals.Dropped(r) == csv.Totals.Dropped(r))
            && MalformedKindNames.All.All(k => jsonl.Totals.Quarantined(k) == csv.Totals.Quarantined(k))
            && jsonl.Totals.ByRegion.Count == csv.Totals.ByRegion.Count
            && jsonl.Totals.ByRegion.All(p => csv.Totals.ByRegion.TryGetValue(p.Key, out var c) && c.Kept == p.Value.Kept && c.Dropped == p.Value.Dropped);
    }

    private static (FilterReport Report, string Kept) Run(RecordFilter filter, string content, RecordFormat format)
    {
        using var kept = new MemoryStream();
        var input = RecordInput.FromStream(new MemoryStream(Encoding.UTF8.GetBytes(content)), "records", format: format);
        var report = filter.RunAsync([input], new FilterOutputs(kept)).GetAwaiter().GetResult();
        return (report, Encoding.UTF8.GetString(kept.ToArray()));
    }
}
