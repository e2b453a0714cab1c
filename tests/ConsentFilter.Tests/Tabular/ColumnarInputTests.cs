using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;
using ConsentFilter.Tests.Support;
using RecordBatch = Apache.Arrow.RecordBatch;

namespace ConsentFilter.Tests.Tabular;

/// <summary>Parquet and Arrow inputs the adapter must refuse or quarantine, and column shapes it must read.</summary>
public sealed class ColumnarInputTests
{
    private static ConsentFilterOptions Options()
    {
        var options = new ConsentFilterOptions { MaxDegreeOfParallelism = 2 };
        options.SubjectFields.Add("recipients");
        return options;
    }

    private static async Task WriteArrowAsync(string path, RecordBatch batch)
    {
        await using var output = File.Create(path);
        using var writer = new ArrowFileWriter(output, batch.Schema);
        await writer.WriteRecordBatchAsync(batch);
        await writer.WriteEndAsync();
    }

    [Fact]
    public async Task Parquet_MissingUserColumn_DataFileErrorNamingFileAndColumn_NothingCommitted()
    {
        using var dir = new TempDirectory();
        var input = dir.File("records.parquet");
        await new TabularCorpus(20).WriteParquetAsync(input, rowGroupSize: 10);
        var options = Options();
        options.UserField = "author_id";
        var error = await Assert.ThrowsAsync<DataFileException>(() => new RecordFilter(TabularCorpus.Policy(), options)
            .RunToFilesAsync([input], new FilterFileOutputs(dir.File("kept.parquet"), dir.File("rej.jsonl"))));
        Assert.Contains("author_id", error.Message, StringComparison.Ordinal);
        Assert.Contains("records.parquet", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(["records.parquet"], dir.FileNames());
    }

    [Fact]
    public async Task Parquet_SchemaDiffersAcrossInputs_DataFileError_NothingCommitted()
    {
        using var dir = new TempDirectory();
        var a = dir.File("a.parquet");
        await new TabularCorpus(20).WriteParquetAsync(a, rowGroupSize: 10);
        var b = dir.File("b.parquet");
        await using (var file = File.Create(b))
        {
            var schema = new global::Parquet.Schema.ParquetSchema(new global::Parquet.Schema.DataField<string>("id"), new global::Parquet.Schema.DataField<string>("user_id"));
            await using var writer = await global::Parquet.ParquetWriter.CreateAsync(schema, file);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(schema.GetDataFields()[0], new[] { "x" });
            await group.WriteAsync(schema.GetDataFields()[1], new[] { "u00" });
        }

        var error = await Assert.ThrowsAsync<DataFileException>(() => new RecordFilter(TabularCorpus.Policy(), Options())
            .RunToFilesAsync([a, b], new FilterFileOutputs(dir.File("kept.parquet"))));
        Assert.Contains("schema", error.Message, StringComparison.Ordinal);
        Assert.Equal(["a.parquet", "b.parquet"], dir.FileNames());
    }

    [Fact]
    public async Task Parquet_NotParquetAtAll_FailsNotAsDataFileError_NothingCommitted()
    {
        using var dir = new TempDirectory();
        var input = dir.Write("records.parquet", "PAR1 this is no parquet file at all");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => new RecordFilter(TabularCorpus.Policy(), Options())
            .RunToFilesAsync([input], new FilterFileOutputs(dir.File("kept.parquet"), Report: dir.File("report.json"))));
        Assert.IsNotType<DataFileException>(error);
        Assert.Equal(["records.parquet"], dir.FileNames());
    }

    [Fact]
    public async Task Arrow_Truncated_FailsAndCommitsNothing()
    {
        using var dir = new TempDirectory();
        var whole = dir.File("whole.arrow");
        await new TabularCorpus(300).WriteArrowAsync(whole, batchSize: 50, file: true);
        var bytes = File.ReadAllBytes(whole);
        File.Delete(whole);
        foreach (var cut in new[] { bytes.Length - 12, bytes.Length / 2 })
        {
            var input = dir.Write("cut.arrow", bytes[..cut]);
            await Assert.ThrowsAnyAsync<Exception>(() => new RecordFilter(TabularCorpus.Policy(), Options())
                .RunToFilesAsync([input], new FilterFileOutputs(dir.File("kept.arrow"), dir.File("rej.jsonl"))));
            Assert.Equal(["cut.arrow"], dir.FileNames());
        }
    }

    [Theory]
    [InlineData("user_id", true)]
    [InlineData("region", true)]
    [InlineData("recipients", true)]
    [InlineData("id", false)]
    public async Task Arrow_DecisionColumnNamedTwice_RefusedNeverTheFirstOneRead(string twice, bool refused)
    {
        // One row: user "a" (granted), region US; the second column of the doubled name holds what must drop it (a denied
        // user, an excluded region, a denied co-subject). Reading only the first would keep the row.
        using var dir = new TempDirectory();
        StringArray Text(string value) => new StringArray.Builder().Append(value).Build();
        var columns = new List<(string Name, IArrowArray Array)>
        {
            ("id", Text("r1")), ("user_id", Text("u00")), ("region", Text("US")), ("recipients", Text("u00")),
            (twice, Text(twice switch { "region" => "CN", "id" => "r2", _ => "u02" })),
        };
        var schema = new Schema.Builder();
        foreach (var (name, _) in columns)
        {
            schema.Field(f => f.Name(name).DataType(StringType.Default).Nullable(true));
        }

        var input = dir.File("records.arrow");
        await WriteArrowAsync(input, new RecordBatch(schema.Build(), columns.Select(c => c.Array), 1));
        var run = () => new RecordFilter(TabularCorpus.Policy(), Options()).RunToFilesAsync([input], new FilterFileOutputs(dir.File("kept.arrow")));

        if (refused)
        {
            var error = await Assert.ThrowsAsync<DataFileException>(run);
            Assert.Contains($"'{twice}' appears more than once", error.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(dir.File("kept.arrow")));
        }
        else
        {
            Assert.Equal(1, (await run()).Totals.Kept);
        }
    }

    [Fact]
    public async Task Arrow_FileWithoutASchemaMessage_ClearDataFileError()
    {
        using var dir = new TempDirectory();
        var input = dir.File("records.arrow");
        await using (var output = File.Create(input))
        {
            using var writer = new ArrowFileWriter(output, TabularCorpus.ArrowSchema);
            await writer.WriteStartAsync();
            await writer.WriteEndAsync();
        }

        var error = await Assert.ThrowsAsync<DataFileException>(() =>
            new RecordFilter(TabularCorpus.Policy(), Options()).RunToFilesAsync([input], new FilterFileOutputs(dir.File("kept.arrow"))));

        Assert.Contains("no schema message", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("kept.arrow")));
    }

    [Fact]
    public async Task Arrow_UserColumnOfUnreadableType_DataFileError()
    {
        using var dir = new TempDirectory();
        var users = new DoubleArray.Builder().Append(1.5).Build();
        var schema = new Schema.Builder().Field(f => f.Name("user_id").DataType(DoubleType.Default)).Build();
        var input = dir.File("records.arrow");
        await WriteArrowAsync(input, new RecordBatch(schema, [users], 1));
        var error = await Assert.ThrowsAsync<DataFileException>(() => new RecordFilter(TabularCorpus.Policy(), Options())
            .RunToFilesAsync([input], new FilterFileOutputs(dir.File("kept.arrow"))));
        Assert.Contains("user_id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Arrow_NullEmptyAndIntegerIds_StructPath_Dictionary_QuarantinedOrDecided()
    {
        using var dir = new TempDirectory();

        // meta.author_id: "u00", null, "", 42 (as text), a null struct; recipients: list<int64> with a null element in row 3.
        var authors = new StringArray.Builder().Append("u00").AppendNull().Append(string.Empty).Append("42").Append("u00").Append("u02").Build();
        var metaType = new StructType([new Field("author_id", StringType.Default, true)]);
        var metaValidity = new ArrowBuffer.BitmapBuilder().Append(true).Append(true).Append(true).Append(true).Append(false).Append(true).Build();
        var meta = new StructArray(metaType, 6, [authors], metaValidity, nullCount: 1);
        var recipients = new ListArray.Builder(Int64Type.Default);
        var values = (Int64Array.Builder)recipients.ValueBuilder;
        recipients.Append();
        recipients.Append();
        recipients.AppendNull();
        recipients.Append();
        values.Append(42).AppendNull();
        recipients.Append();
        recipients.Append();
        var dictionary = new StringArray.Builder().Append("US").Append("DE").Build();
        var regionIndices = new Int32Array.Builder().Append(0).Append(0).Append(1).Append(0).Append(0).Append(0).Build();
        var regionType = new DictionaryType(Int32Type.Default, StringType.Default, false);
        var regions = new DictionaryArray(regionType, regionIndices, dictionary);
        var ids = new Int64Array.Builder().Append(1).Append(2).Append(3).Append(4).Append(5).Append(6).Build();
        var schema = new Schema.Builder()
            .Field(f => f.Name("id").DataType(Int64Type.Default))
            .Field(f => f.Name("meta").DataType(metaType))
            .Field(f => f.Name("region").DataType(regionType))
            .Field(f => f.Name("recipients").DataType(new ListType(Int64Type.Default)))
            .Build();
        var input = dir.File("records.arrow");
        await WriteArrowAsync(input, new RecordBatch(schema, [ids, meta, regions, recipients.Build()], 6));

        var options = Options();
        options.UserField = "meta.author_id";
        var report = await new RecordFilter(TabularCorpus.Policy(), options)
            .RunToFilesAsync([input], new FilterFileOutputs(dir.File("kept.arrow"), dir.File("rej.jsonl"), dir.File("q.jsonl")));

        Assert.Equal(6, report.Totals.Records);
        Assert.Equal(3, report.Totals.Quarantined(MalformedKind.MissingUserId));
        Assert.Equal(1, report.Totals.Quarantined(MalformedKind.BadSubjectType));
        Assert.Equal(1, report.Totals.Kept);
        Assert.Equal(1, report.Totals.DroppedTotal);
        var quarantine = File.ReadAllLines(dir.File("q.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([2L, 3L, 4L, 5L], quarantine.Select(q => q.GetProperty("row").GetInt64()));
        Assert.All(quarantine, q => Assert.True(q.GetProperty("raw_omitted").GetBoolean()));
        var rejected = JsonDocument.Parse(Assert.Single(File.ReadAllLines(dir.File("rej.jsonl")))).RootElement;
        Assert.Equal("6", rejected.GetProperty("id").GetString());
        Assert.Equal(6, rejected.GetProperty("row").GetInt64());

        await using var kept = File.OpenRead(dir.File("kept.arrow"));
        using var reader = new ArrowFileReader(kept);
        var batch = await reader.ReadNextRecordBatchAsync();
        Assert.NotNull(batch);
        Assert.Equal(1, batch.Length);
        Assert.Equal(1L, ((Int64Array)batch.Column("id")).GetValue(0));
        Assert.Equal("u00", ((StringArray)((StructArray)batch.Column("meta")).Fields[0]).GetString(0));
        Assert.Null(await reader.ReadNextRecordBatchAsync());
    }

    [Fact]
    public async Task Parquet_DecideAsync_OneResultPerRowWithRowNumbers()
    {
        using var dir = new TempDirectory();
        var corpus = new TabularCorpus(120);
        var input = dir.File("records.parquet");
        await corpus.WriteParquetAsync(input, rowGroupSize: 50);
        using var filter = new RecordFilter(TabularCorpus.Policy(), Options());
        var results = new List<RecordResult>();
        await foreach (var result in filter.DecideAsync(RecordInput.FromFile(input)))
        {
            results.Add(result);
        }

        Assert.Equal(Enumerable.Range(1, 120).Select(i => (long)i), results.Select(r => r.LineNumber));
        var report = await new RecordFilter(TabularCorpus.Policy(), Options()).RunToFilesAsync([input], new FilterFileOutputs(dir.File("kept.parquet")));
        Assert.Equal(report.Totals.Kept, results.Count(r => r.Outcome == RecordOutcome.Kept));
        Assert.Equal(report.Totals.QuarantinedTotal, results.Count(r => r.Outcome == RecordOutcome.Quarantined));
    }

    [Fact]
    public async Task Cli_ParquetBadInput_ExitCodes_NothingCommitted()
    {
        using var dir = new TempDirectory();
        var consent = dir.Write("consent.csv", TabularCorpus.Consent);
        var whole = dir.File("whole.parquet");
        await new TabularCorpus(200).WriteParquetAsync(whole, rowGroupSize: 50);
        var bytes = File.ReadAllBytes(whole);
        var cut = dir.Write("cut.parquet", bytes[..(bytes.Length - 100)]);

        async Task<(int Code, string Error)> Run(params string[] args)
        {
            var stderr = new StringWriter();
            var code = await ConsentFilter.Cli.ConsoleApp.RunAsync(["filter", .. args, "--consent", consent], new StringWriter(), stderr);
            return (code, stderr.ToString());
        }

        var (code, error) = await Run("--records", cut, "--out", dir.File("kept.parquet"));
        Assert.True(code == 1, error);
        Assert.False(File.Exists(dir.File("kept.parquet")));

        (code, error) = await Run("--records", whole, "--user-field", "author", "--out", dir.File("kept.parquet"));
        Assert.True(code == 2, error);
        Assert.Contains("author", error, StringComparison.Ordinal);
        Assert.Contains("whole.parquet", error, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("kept.parquet")));

        (code, error) = await Run("--records", whole, "--out", "-");
        Assert.True(code == 2, error);

        (code, error) = await Run("--records", whole, "--out", dir.File("kept.parquet"), "--no-manifest");
        Assert.True(code == 0, error);
        Assert.True(File.Exists(dir.File("kept.parquet")));
    }
}
