using Apache.Arrow.Ipc;
using DuckDB.NET.Data;
using ParquetSharp.Arrow;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// The corpus's records as a data engineer would hold them in columnar form: a Parquet file written by DuckDB from the
/// JSON Lines file (snappy, about ten row groups, typed columns: struct <c>meta</c> and <c>reply_to</c>, a list
/// <c>recipients</c>, a timestamp), and an Arrow IPC file of the same rows (one record batch per row group).
/// </summary>
/// <remarks>
/// DuckDB writes the Parquet because it is what a data engineer would use to convert JSON to Parquet, and it is an
/// independent writer; the Arrow file is ParquetSharp's reading of that Parquet, written by Apache.Arrow.
/// </remarks>
internal static class ColumnarCorpus
{
    /// <summary>Ids compare as text (a JSON integer is its decimal text, SPEC); a scalar co-subject is a list of one.</summary>
    internal const string JsonColumns =
        "id: 'VARCHAR', user_id: 'VARCHAR', region: 'VARCHAR', created_at: 'VARCHAR', text: 'VARCHAR', recipients: 'JSON', " +
        "meta: 'STRUCT(lang VARCHAR, source VARCHAR, stats STRUCT(likes INTEGER, shares INTEGER, ratio DOUBLE), tags VARCHAR[])', " +
        "reply_to: 'STRUCT(id BIGINT, author STRUCT(user_id VARCHAR, verified BOOLEAN))'";

    internal static (string Parquet, string Arrow) Ensure(CorpusGenerator.Corpus corpus)
    {
        var parquet = Path.ChangeExtension(corpus.Records, ".parquet");
        var arrow = Path.ChangeExtension(corpus.Records, ".arrow");
        if (!File.Exists(parquet))
        {
            WriteParquet(corpus, parquet);
        }

        if (!File.Exists(arrow))
        {
            WriteArrow(parquet, arrow);
        }

        return (parquet, arrow);
    }

    /// <summary>The file's row groups, rows and codec of its first column, for the benchmark's header.</summary>
    internal static string Describe(string parquet)
    {
        using var reader = new ParquetSharp.ParquetFileReader(parquet);
        var metadata = reader.FileMetaData;
        using var group = reader.RowGroup(0);
        using var chunk = group.MetaData.GetColumnChunkMetaData(0);
        return $"{metadata.NumRows:N0} rows, {metadata.NumRowGroups} row groups, {chunk.Compression}, {new FileInfo(parquet).Length / 1e6:F0} MB";
    }

    private static void WriteParquet(CorpusGenerator.Corpus corpus, string path)
    {
        var temporary = path + ".tmp";
        using (var connection = new DuckDBConnection("DataSource=:memory:"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            var rowGroup = Math.Max(1, (corpus.RecordCount + 9) / 10);
            command.CommandText = $$"""
                SET threads = {{Environment.ProcessorCount}}; SET preserve_insertion_order = true;
                COPY (SELECT id, user_id, region, CAST(created_at AS TIMESTAMP) AS created_at, text,
                        CASE WHEN recipients IS NULL THEN NULL
                             WHEN json_type(recipients) = 'ARRAY' THEN from_json(recipients, '["VARCHAR"]')
                             ELSE [recipients ->> '$'] END AS recipients,
                        meta, reply_to
                      FROM read_json('{{corpus.Records}}', format = 'newline_delimited', maximum_object_size = 33554432, columns = { {{JsonColumns}} }))
                TO '{{temporary}}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE {{rowGroup}});
                """;
            command.ExecuteNonQuery();
        }

        File.Move(temporary, path, overwrite: true);
    }

    private static void WriteArrow(string parquet, string path)
    {
        var temporary = path + ".tmp";
        using var properties = ArrowReaderProperties.GetDefault();
        properties.BatchSize = 1 << 24;
        using (var reader = new FileReader(parquet, arrowProperties: properties))
        using (var output = File.Create(temporary))
        {
            using var writer = new ArrowFileWriter(output, reader.Schema);
            writer.WriteStart();
            for (var g = 0; g < reader.NumRowGroups; g++)
            {
                using var batches = reader.GetRecordBatchReader([g]);
                while (batches.ReadNextRecordBatchAsync().AsTask().GetAwaiter().GetResult() is { } batch)
                {
                    using (batch)
                    {
                        writer.WriteRecordBatch(batch);
                    }
                }
            }

            writer.WriteEnd();
        }

        File.Move(temporary, path, overwrite: true);
    }
}
