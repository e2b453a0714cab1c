using ConsentFilter.Cli;
using ConsentFilter.Provenance;
using ConsentFilter.Sharding;
using ConsentFilter.Tests.Support;
using ConsentFilter.Tests.Tabular;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>
/// Every file command serves every format through the one data path: the same records as JSON Lines and as CSV give the
/// same counts in a single run, an <c>--out-dir</c> run and sharded runs (resumed, their reports merged), with manifests
/// that <c>verify</c> accepts and that <c>purge</c> uses.
/// </summary>
public sealed class EveryFormatCommandTests
{
    [Theory]
    [InlineData("jsonl")]
    [InlineData("csv")]
    [InlineData("parquet")]
    [InlineData("arrow")]
    public async Task OutDirShardsVerifyPurge_SameCountsAsJsonLines(string extension)
    {
        using var dir = new TempDirectory();
        var corpus = new TabularCorpus(900);
        var consent = dir.Write("consent.csv", TabularCorpus.Consent);
        var table = dir.Write("table.csv", TestData.Table);
        var inputs = new[] { dir.File($"a.{extension}"), dir.File($"b.{extension}") };
        foreach (var input in inputs)
        {
            switch (extension)
            {
                case "parquet":
                    await corpus.WriteParquetAsync(input, rowGroupSize: 200);
                    break;
                case "arrow":
                    await corpus.WriteArrowAsync(input, batchSize: 250, file: true);
                    break;
                default:
                    File.WriteAllText(input, extension == "csv" ? corpus.Csv() : corpus.Jsonl());
                    break;
            }
        }

        string[] Common() => ["filter", "--records", .. inputs, "--consent", consent, "--jurisdictions", table, "--subject-field", "recipients"];

        Assert.Equal(0, await Cli([.. Common(), "--out", dir.File($"single.{extension}"), "--report", dir.File("single.json")]));
        Assert.Equal(0, await Cli([.. Common(), "--out-dir", dir.File("whole")]));
        foreach (var task in new[] { "0/2", "1/2" })
        {
            Assert.Equal(0, await Cli([.. Common(), "--out-dir", dir.File("sharded"), "--shard", task]));
        }

        // A resumed shard whose units are done changes nothing; `report merge` adds the shards' task reports up.
        Assert.Equal(0, await Cli([.. Common(), "--out-dir", dir.File("sharded"), "--shard", "1/2", "--resume"]));
        Assert.Equal(0, await Cli(["report", "merge", dir.File("sharded"), "--out", dir.File("merged.json")]));

        var single = ReportMerger.Read(dir.File("single.json"));
        var merged = ReportMerger.Read(dir.File("merged.json"));
        Assert.True(merged["complete"]!.GetValue<bool>());
        Assert.Equal(single["records"]!.GetValue<long>(), merged["records"]!.GetValue<long>());
        Assert.Equal(single["kept"]!.GetValue<long>(), merged["kept"]!.GetValue<long>());
        Assert.Equal(2 * 900, single["records"]!.GetValue<long>());

        // The same records decide the same whatever their format (the JSON Lines run is the reference).
        var reference = new TabularCorpus(900);
        using var jsonlDir = new TempDirectory();
        var jsonl = jsonlDir.Write("r.jsonl", reference.Jsonl());
        using var filter = new ConsentFilter.Pipeline.RecordFilter(TabularCorpus.Policy(), Options());
        var expected = await filter.RunToFilesAsync([jsonl], new ConsentFilter.Pipeline.FilterFileOutputs(jsonlDir.File("k.jsonl")));
        Assert.Equal(2 * expected.Totals.Kept, single["kept"]!.GetValue<long>());

        foreach (var input in inputs)
        {
            var output = Path.Combine(dir.File("whole"), Path.GetFileName(input));
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(dir.File("sharded"), Path.GetFileName(input))), await File.ReadAllBytesAsync(output));
            Assert.Equal(0, await Cli(["verify", output]));
        }

        // Consent changes: u00 revokes. Purge rewrites the outputs that held u00 to equal a fresh run.
        var revoked = dir.Write("consent-b.csv", TabularCorpus.Consent.Replace("u00,US,granted", "u00,US,denied", StringComparison.Ordinal));
        var outputs = inputs.Select(i => Path.Combine(dir.File("whole"), Path.GetFileName(i))).ToList();
        var purge = await Purge.RunAsync(outputs, revoked, table, null);
        Assert.Empty(purge.Skipped);
        Assert.NotEmpty(purge.Changed);
        Assert.Equal(0, await Cli([.. Common().Select(a => a == consent ? revoked : a), "--out-dir", dir.File("fresh")]));
        foreach (var output in outputs)
        {
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(dir.File("fresh"), Path.GetFileName(output))), await File.ReadAllBytesAsync(output));
        }
    }

    [Fact]
    public async Task MixedFormatsIntoOneOutput_ExitTwo_NothingWritten()
    {
        using var dir = new TempDirectory();
        var corpus = new TabularCorpus(10);
        var consent = dir.Write("consent.csv", TabularCorpus.Consent);
        var jsonl = dir.Write("a.jsonl", corpus.Jsonl());
        var csv = dir.Write("b.csv", corpus.Csv());
        var stderr = new StringWriter();
        var code = await ConsoleApp.RunAsync(["filter", "--records", jsonl, csv, "--consent", consent, "--out", dir.File("kept.jsonl")], new StringWriter(), stderr);
        Assert.Equal(2, code);
        Assert.Contains("b.csv", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("kept.jsonl")));
    }

    [Fact]
    public async Task CsvNamedJsonl_WithFormatOption_ReadAsCsv()
    {
        using var dir = new TempDirectory();
        var corpus = new TabularCorpus(50);
        var consent = dir.Write("consent.csv", TabularCorpus.Consent);
        var input = dir.Write("rows.jsonl", corpus.Csv());
        Assert.Equal(0, await Cli(["filter", "--records", input, "--consent", consent, "--format", "csv", "--out", dir.File("kept.csv"), "--report", dir.File("r.json")]));
        var report = ReportMerger.Read(dir.File("r.json"));
        Assert.Equal(0, report["quarantined"]!["by_error"]!["invalid_json"]?.GetValue<long>() ?? 0);
        Assert.Equal(50, report["records"]!.GetValue<long>());
    }

    private static ConsentFilter.Pipeline.ConsentFilterOptions Options()
    {
        var options = new ConsentFilter.Pipeline.ConsentFilterOptions();
        options.SubjectFields.Add("recipients");
        return options;
    }

    private static async Task<int> Cli(string[] args)
    {
        var stderr = new StringWriter();
        var code = await ConsoleApp.RunAsync(args, new StringWriter(), stderr);
        Assert.True(code == 0, string.Join(' ', args) + ": " + stderr);
        return code;
    }
}
