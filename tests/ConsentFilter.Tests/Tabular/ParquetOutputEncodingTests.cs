using Apache.Arrow;
using Apache.Arrow.Types;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Support;
using ParquetSharp.Arrow;
using RecordBatch = Apache.Arrow.RecordBatch;

namespace ConsentFilter.Tests.Tabular;

/// <summary>The Parquet output keeps the input's choices per column: its codec, and whether it uses a dictionary.</summary>
public sealed class ParquetOutputEncodingTests
{
    [Fact]
    public async Task Output_ColumnWithoutDictionaryInInput_WrittenWithoutOne_OthersKeepTheirs()
    {
        using var dir = new TempDirectory();
        var input = dir.File("in.parquet");
        var users = new StringArray.Builder();
        var texts = new StringArray.Builder();
        for (var i = 0; i < 200; i++)
        {
            users.Append(i % 2 == 0 ? "u00" : "u03");
            texts.Append($"post {i} with its own words");
        }

        var schema = new Schema.Builder()
            .Field(new Field("user_id", StringType.Default, false))
            .Field(new Field("text", StringType.Default, false))
            .Build();
        using (var builder = new ParquetSharp.WriterPropertiesBuilder())
        {
            builder.Compression(ParquetSharp.Compression.Zstd).Compression("user_id", ParquetSharp.Compression.Snappy).DisableDictionary("text");
            using var properties = builder.Build();
            using var writer = new FileWriter(input, schema, properties);
            writer.WriteRecordBatch(new RecordBatch(schema, [users.Build(), texts.Build()], 200));
            writer.Close();
        }

        Assert.Equal((true, false), (HasDictionary(input, 0), HasDictionary(input, 1)));
        var report = await new RecordFilter(TabularCorpus.Policy(), new ConsentFilterOptions())
            .RunToFilesAsync([input], new FilterFileOutputs(dir.File("out.parquet")));

        Assert.True(report.Totals.Kept > 0);
        Assert.Equal((true, false), (HasDictionary(dir.File("out.parquet"), 0), HasDictionary(dir.File("out.parquet"), 1)));
        Assert.Equal((ParquetSharp.Compression.Snappy, ParquetSharp.Compression.Zstd), (Codec(dir.File("out.parquet"), 0), Codec(dir.File("out.parquet"), 1)));
    }

    private static bool HasDictionary(string path, int column)
    {
        using var reader = new ParquetSharp.ParquetFileReader(path);
        using var group = reader.RowGroup(0);
        using var chunk = group.MetaData.GetColumnChunkMetaData(column);
        return chunk.Encodings.Any(e => e is ParquetSharp.Encoding.PlainDictionary or ParquetSharp.Encoding.RleDictionary);
    }

    private static ParquetSharp.Compression Codec(string path, int column)
    {
        using var reader = new ParquetSharp.ParquetFileReader(path);
        using var group = reader.RowGroup(0);
        using var chunk = group.MetaData.GetColumnChunkMetaData(column);
        return chunk.Compression;
    }
}
