using System.Text.Json;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Support;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Tabular;

/// <summary>Any corpus, any row-group or batch size, any worker count: Parquet and Arrow decide exactly as JSON Lines.</summary>
public sealed class ColumnarProperties
{
    [Property(MaxTest = 15)]
    public async Task AnyCorpus_ParquetAndArrow_KeepTheSameRowsAsJsonLines(byte size, int seed, byte groupSize, bool twoWorkers)
    {
        using var dir = new TempDirectory();
        var corpus = new TabularCorpus(size, seed);
        var group = 1 + (groupSize % 64);
        var options = new ConsentFilterOptions { MaxDegreeOfParallelism = twoWorkers ? 2 : 1 };
        options.SubjectFields.Add("recipients");
        var policy = TabularCorpus.Policy();
        var jsonl = dir.Write("r.jsonl", corpus.Jsonl());
        var parquet = dir.File("r.parquet");
        await corpus.WriteParquetAsync(parquet, group);
        var arrow = dir.File("r.arrows");
        await corpus.WriteArrowAsync(arrow, group, file: false);

        var expected = await new RecordFilter(policy, options).RunToFilesAsync([jsonl], new FilterFileOutputs(dir.File("k.jsonl"), dir.File("rej-j.jsonl")));
        var fromParquet = await new RecordFilter(policy, options).RunToFilesAsync([parquet], new FilterFileOutputs(dir.File("k.parquet"), dir.File("rej-p.jsonl")));
        var fromArrow = await new RecordFilter(policy, options).RunToFilesAsync([arrow], new FilterFileOutputs(dir.File("k.arrows"), dir.File("rej-a.jsonl")));

        var keptIds = File.ReadAllLines(dir.File("k.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!).ToList();
        Assert.Equal(keptIds, await TabularCorpus.ArrowIdsAsync(dir.File("k.arrows")));
        Assert.Equal(keptIds.Count, (await TabularCorpus.ParquetRowsAsync(dir.File("k.parquet"))).Count);
        foreach (var report in new[] { fromParquet, fromArrow })
        {
            Assert.Equal(expected.Totals.Records, report.Totals.Records);
            Assert.Equal(expected.Totals.Kept, report.Totals.Kept);
            Assert.Equal(expected.Totals.DroppedTotal, report.Totals.DroppedTotal);
            Assert.Equal(expected.Totals.QuarantinedTotal, report.Totals.QuarantinedTotal);
        }

        static string[] Reasons(string path) =>
            [.. File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).Select(e => $"{e.GetProperty("id").GetString()} {e.GetProperty("reason").GetString()}")];
        Assert.Equal(Reasons(dir.File("rej-j.jsonl")), Reasons(dir.File("rej-p.jsonl")));
        Assert.Equal(Reasons(dir.File("rej-j.jsonl")), Reasons(dir.File("rej-a.jsonl")));
    }
}
