using System.Text;
using System.Text.Json;
using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;
using ConsentFilter.Tests.Support;
using Parquet;

namespace ConsentFilter.Tests.Tabular;

public sealed class TabularRecordFilterTests
{
    private static ConsentFilterOptions Options()
    {
        var options = new ConsentFilterOptions { MaxDegreeOfParallelism = 2 };
        options.SubjectFields.Add("recipients");
        return options;
    }

    [Fact]
    public async Task SameCorpus_JsonlCsvParquetArrow_SameDecisionsAndCounts()
    {
        using var dir = new TempDirectory();
        var corpus = new TabularCorpus(600);
        var policy = TabularCorpus.Policy();
        var jsonl = dir.Write("records.jsonl", corpus.Jsonl());
        var csv = dir.Write("records.csv", corpus.Csv());
        var parquet = dir.File("records.parquet");
        await corpus.WriteParquetAsync(parquet, rowGroupSize: 128);
        var arrowFile = dir.File("records.arrow");
        await corpus.WriteArrowAsync(arrowFile, batchSize: 100, file: true);
        var arrowStream = dir.File("records.arrows");
        await corpus.WriteArrowAsync(arrowStream, batchSize: 70, file: false);

        var fromJsonl = await new RecordFilter(policy, Options()).RunToFilesAsync([jsonl], new FilterFileOutputs(dir.File("kept.jsonl"), dir.File("rej-j.jsonl")));
        var fromCsv = await new RecordFilter(policy, Options()).RunToFilesAsync([csv], new FilterFileOutputs(dir.File("kept.csv"), dir.File("rej-c.jsonl")));
        var fromParquet = await new RecordFilter(policy, Options()).RunToFilesAsync([parquet], new FilterFileOutputs(dir.File("kept.parquet"), dir.File("rej-p.jsonl")));
        var fromArrowFile = await new RecordFilter(policy, Options()).RunToFilesAsync([arrowFile], new FilterFileOutputs(dir.File("kept.arrow"), dir.File("rej-a.jsonl")));
        var fromArrowStream = await new RecordFilter(policy, Options()).RunToFilesAsync([arrowStream], new FilterFileOutputs(dir.File("kept.arrows"), dir.File("rej-s.jsonl")));

        Assert.Equal(600, fromJsonl.Totals.Records);
        Assert.True(fromJsonl.Totals.Kept > 0 && fromJsonl.Totals.DroppedTotal > 0 && fromJsonl.Totals.QuarantinedTotal > 0);
        foreach (var report in new[] { fromCsv, fromParquet, fromArrowFile, fromArrowStream })
        {
            Assert.True(report.IsConserved);
            Assert.Equal(Summary(fromJsonl), Summary(report));
        }

        var keptIds = File.ReadAllLines(dir.File("kept.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!).ToList();
        Assert.Equal(keptIds, (await TabularCorpus.ParquetRowsAsync(dir.File("kept.parquet"))).Select(IdOf).ToList());
        Assert.Equal(keptIds, File.ReadAllLines(dir.File("kept.csv")).Skip(1).Where(l => l.StartsWith('r')).Select(l => l.Split(',')[0]).ToList());

        // The rejection logs agree on reason, subject and hashed user, record by record.
        static string[] Rejections(string path) =>
            [.. File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).Select(e =>
                $"{e.GetProperty("id").GetString()} {e.GetProperty("reason").GetString()} {e.GetProperty("subject_index").GetInt32()} {e.GetProperty("user_sha256").GetString()}")];
        Assert.Equal(Rejections(dir.File("rej-j.jsonl")), Rejections(dir.File("rej-c.jsonl")));
        Assert.Equal(Rejections(dir.File("rej-j.jsonl")), Rejections(dir.File("rej-p.jsonl")));
        Assert.Equal(Rejections(dir.File("rej-j.jsonl")), Rejections(dir.File("rej-a.jsonl")));
        Assert.Equal(Rejections(dir.File("rej-j.jsonl")), Rejections(dir.File("rej-s.jsonl")));
        Assert.Equal(keptIds, await TabularCorpus.ArrowIdsAsync(dir.File("kept.arrow")));
        Assert.Equal(keptIds, await TabularCorpus.ArrowIdsAsync(dir.File("kept.arrows")));
        Assert.True(File.ReadAllBytes(dir.File("kept.arrow")).AsSpan().StartsWith("ARROW1"u8));
        Assert.False(File.ReadAllBytes(dir.File("kept.arrows")).AsSpan().StartsWith("ARROW1"u8));
    }

    [Fact]
    public async Task Csv_RoundTrip_KeptRowsByteForByteWithLfEndings()
    {
        using var dir = new TempDirectory();
        var corpus = new TabularCorpus(300);
        var csv = dir.Write("records.csv", "\uFEFF" + corpus.Csv());
        var report = await new RecordFilter(TabularCorpus.Policy(), Options()).RunToFilesAsync([csv], new FilterFileOutputs(dir.File("kept.csv")));

        var rows = corpus.CsvRows();
        var keptIds = new HashSet<string>();
        var jsonl = dir.Write("records.jsonl", corpus.Jsonl());
        await new RecordFilter(TabularCorpus.Policy(), Options()).RunToFilesAsync([jsonl], new FilterFileOutputs(dir.File("kept.jsonl")));
        foreach (var line in File.ReadAllLines(dir.File("kept.jsonl")))
        {
            keptIds.Add(JsonDocument.Parse(line).RootElement.GetProperty("id").GetString()!);
        }

        var expected = new StringBuilder(rows[0]).Append('\n');
        foreach (var row in rows.Skip(1).Where(r => keptIds.Contains(r.Split(',')[0])))
        {
            expected.Append(row).Append('\n');
        }

        Assert.Equal(keptIds.Count, report.Totals.Kept);
        Assert.Equal(Encoding.UTF8.GetBytes(expected.ToString()), File.ReadAllBytes(dir.File("kept.csv")));

        // Kept output filtered again is kept whole and unchanged.
        var again = await new RecordFilter(TabularCorpus.Policy(), Options()).RunToFilesAsync([dir.File("kept.csv")], new FilterFileOutputs(dir.File("kept2.csv")));
        Assert.Equal(report.Totals.Kept, again.Totals.Kept);
        Assert.Equal(File.ReadAllBytes(dir.File("kept.csv")), File.ReadAllBytes(dir.File("kept2.csv")));
    }

    [Fact]
    public async Task Parquet_SeveralRowGroups_KeptRowsKeepSchemaAndValues()
    {
        using var dir = new TempDirectory();
        var corpus = new TabularCorpus(500);
        var input = dir.File("records.parquet");
        await corpus.WriteParquetAsync(input, rowGroupSize: 64);
        await using (var check = await ParquetReader.CreateAsync(input, null, default))
        {
            Assert.Equal(8, check.RowGroupCount);
        }

        var report = await new RecordFilter(TabularCorpus.Policy(), Options()).RunToFilesAsync([input], new FilterFileOutputs(dir.File("kept.parquet")));

        var inputRows = await TabularCorpus.ParquetRowsAsync(input);
        var keptRows = await TabularCorpus.ParquetRowsAsync(dir.File("kept.parquet"));
        Assert.Equal(report.Totals.Kept, keptRows.Count);
        var keptIds = keptRows.Select(IdOf).ToHashSet();
        Assert.Equal(inputRows.Where(r => keptIds.Contains(IdOf(r))).ToList(), keptRows);
        await using var output = await ParquetReader.CreateAsync(dir.File("kept.parquet"), null, default);
        Assert.Equal(TabularCorpus.Schema, output.Schema);
        Assert.True(output.RowGroupCount > 1);
    }

    [Fact]
    public async Task Csv_EmptyAndHeaderOnlyFiles_NoRecords()
    {
        using var dir = new TempDirectory();
        var empty = dir.Write("empty.csv", string.Empty);
        var report = await new RecordFilter(TabularCorpus.Policy(), Options()).RunToFilesAsync([empty], new FilterFileOutputs(dir.File("kept.csv")));
        Assert.Equal(0, report.Totals.Records);
        Assert.Empty(File.ReadAllBytes(dir.File("kept.csv")));

        var headerOnly = dir.Write("header.csv", "id,user_id\r\n");
        report = await new RecordFilter(TabularCorpus.Policy(), Options()).RunToFilesAsync([headerOnly], new FilterFileOutputs(dir.File("kept2.csv")));
        Assert.Equal(0, report.Totals.Records);
        Assert.Equal("id,user_id\n", File.ReadAllText(dir.File("kept2.csv")));
    }

    [Fact]
    public async Task Parquet_NoRows_EmptyOutputWithSchema()
    {
        using var dir = new TempDirectory();
        var input = dir.File("empty.parquet");
        await new TabularCorpus(0).WriteParquetAsync(input, rowGroupSize: 10);
        var report = await new RecordFilter(TabularCorpus.Policy(), Options()).RunToFilesAsync([input], new FilterFileOutputs(dir.File("kept.parquet")));
        Assert.Equal(0, report.Totals.Records);
        await using var output = await ParquetReader.CreateAsync(dir.File("kept.parquet"), null, default);
        Assert.Equal(TabularCorpus.Schema, output.Schema);
        Assert.Equal(0, output.RowGroups.Sum(g => g.RowCount));
    }

    [Fact]
    public async Task Parquet_Truncated_FailsAndCommitsNothing()
    {
        using var dir = new TempDirectory();
        var whole = dir.File("whole.parquet");
        await new TabularCorpus(300).WriteParquetAsync(whole, rowGroupSize: 50);
        var bytes = File.ReadAllBytes(whole);
        var cut = dir.Write("cut.parquet", bytes[..(bytes.Length / 2)]);
        File.Delete(whole);

        await Assert.ThrowsAnyAsync<Exception>(() => new RecordFilter(TabularCorpus.Policy(), Options())
            .RunToFilesAsync([cut], new FilterFileOutputs(dir.File("kept.parquet"), dir.File("rejected.jsonl"), dir.File("quarantine.jsonl"), dir.File("report.json"))));
        Assert.Equal(["cut.parquet"], dir.FileNames());
    }

    [Fact]
    public async Task Csv_MalformedRows_QuarantinedWithKinds()
    {
        using var dir = new TempDirectory();
        var csv = dir.Write("records.csv", string.Join('\n',
            "id,user_id,region,recipients",
            "a,u00,US,",
            "b,,US,",
            "c,u00,US",
            "d,u00,US,u00;",
            "e,u00,US,\"[\"\"u00\"\", 42]\"",
            "f,u00,US,[1.5]",
            "",
            "g,u00,US,\"[\"\"u00\"\",\"\"u02\"\"]\""));
        var report = await new RecordFilter(TabularCorpus.Policy(), Options())
            .RunToFilesAsync([csv], new FilterFileOutputs(dir.File("kept.csv"), Quarantine: dir.File("q.jsonl")));

        Assert.Equal(7, report.Totals.Records);
        Assert.Equal(1, report.Totals.BlankLines);
        Assert.Equal(1, report.Totals.Quarantined(MalformedKind.MissingUserId));
        Assert.Equal(1, report.Totals.Quarantined(MalformedKind.InvalidCsv));
        Assert.Equal(2, report.Totals.Quarantined(MalformedKind.BadSubjectType));
        Assert.Equal(1, report.Totals.Dropped(DropReason.OptedOut));
        Assert.Equal("id,user_id,region,recipients\na,u00,US,\ne,u00,US,\"[\"\"u00\"\", 42]\"\n", File.ReadAllText(dir.File("kept.csv")));
        var quarantine = File.ReadAllLines(dir.File("q.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([3L, 4L, 5L, 7L], quarantine.Select(q => q.GetProperty("line").GetInt64()));
        Assert.Equal("c,u00,US", quarantine[1].GetProperty("raw").GetString());
    }

    [Fact]
    public async Task Csv_MissingUserColumn_DataFileErrorAndNothingCommitted()
    {
        using var dir = new TempDirectory();
        var csv = dir.Write("records.csv", "id,author\na,u00\n");
        var error = await Assert.ThrowsAsync<DataFileException>(() => new RecordFilter(TabularCorpus.Policy(), Options())
            .RunToFilesAsync([csv], new FilterFileOutputs(dir.File("kept.csv"))));
        Assert.Contains("user_id", error.Message, StringComparison.Ordinal);
        Assert.Equal(["records.csv"], dir.FileNames());
    }

    [Theory]
    [InlineData("x.csv", RecordFormat.Csv)]
    [InlineData("x.CSV.gz", RecordFormat.Csv)]
    [InlineData("x.csv.zst", RecordFormat.Csv)]
    [InlineData("x.parquet", RecordFormat.Parquet)]
    [InlineData("x.jsonl.gz", RecordFormat.JsonLines)]
    [InlineData("-", RecordFormat.JsonLines)]
    public void FromPath_Extension_Format(string path, RecordFormat expected) => Assert.Equal(expected, RecordFormats.FromPath(path));

    private static string IdOf(string parquetRow) => parquetRow.Split("|id=[")[1].Split(']')[0].Split(':')[2];

    private static string Summary(FilterReport report)
    {
        var t = report.Totals;
        var builder = new StringBuilder();
        builder.Append($"records {t.Records} kept {t.Kept} dropped {t.DroppedTotal} quarantined {t.QuarantinedTotal};");
        foreach (var reason in DropReasonNames.All)
        {
            builder.Append($" {reason.ToName()}={t.Dropped(reason)}");
        }

        foreach (var kind in MalformedKindNames.All)
        {
            builder.Append($" {kind.ToName()}={t.Quarantined(kind)}");
        }

        foreach (var (code, counts) in t.ByRegion.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            builder.Append($" {code}:{counts.Kept}/{counts.Dropped}");
        }

        return builder.ToString();
    }
}
