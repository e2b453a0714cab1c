using System.Globalization;
using System.Text;
using System.Text.Json;
using ConsentFilter.Decisions;
using Parquet;
using Parquet.Data;
using Parquet.Schema;

namespace ConsentFilter.Tests.Tabular;

/// <summary>One corpus of records written as JSON Lines, CSV and Parquet, for tests that compare the three forms.</summary>
internal sealed class TabularCorpus
{
    internal const string Consent = """
        user_id,region,ai_training,gpc,minor,updated_at
        u00,US,granted,false,false,2026-01-01T00:00:00Z
        u01,US,unset,true,false,
        u02,US,denied,false,false,
        u03,DE,granted,false,false,
        u04,DE,unset,false,false,
        u05,US-CA,unset,false,false,
        u06,US,granted,false,true,
        u07,CN,granted,false,false,
        u08,US,unset,false,false,2026-01-01T00:00:00Z
        u08,US,denied,false,false,2025-01-01T00:00:00Z
        u09,,granted,false,false,
        42,US,granted,false,false,
        """;

    internal static readonly string?[] Regions = [null, "US", "de", " US-CA ", "CN", "FR", "us-ny"];

    internal TabularCorpus(int count, int seed = 7)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var user = random.Next(20) switch
            {
                0 => null,
                1 => "ghost",
                2 => "42",
                var n => $"u{n % 11:00}",
            };
            var subjects = new List<string>();
            var subjectCount = random.Next(4) == 0 ? random.Next(1, 4) : 0;
            for (var s = 0; s < subjectCount; s++)
            {
                subjects.Add(random.Next(30) == 0 ? string.Empty : $"u{random.Next(11):00}");
            }

            var text = (i % 5) switch
            {
                0 => "plain",
                1 => "with, comma",
                2 => "say \"hi\"",
                3 => "two\nlines",
                _ => "ünïcødé 🎉",
            };
            Records.Add(new Record($"r{i:0000}", user, Regions[random.Next(Regions.Length)], subjects, text, i % 3 == 0 ? null : i));
        }
    }

    internal List<Record> Records { get; } = [];

    internal static ConsentPolicy Policy() => TestData.Policy(Consent);

    internal string Jsonl()
    {
        var builder = new StringBuilder();
        foreach (var r in Records)
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream))
            {
                json.WriteStartObject();
                json.WriteString("id", r.Id);
                if (r.User is not null)
                {
                    json.WriteString("user_id", r.User);
                }

                if (r.Region is not null)
                {
                    json.WriteString("region", r.Region);
                }

                if (r.Subjects.Count > 0)
                {
                    json.WriteStartArray("recipients");
                    r.Subjects.ForEach(json.WriteStringValue);
                    json.WriteEndArray();
                }

                json.WriteString("text", r.Text);
                if (r.N is { } n)
                {
                    json.WriteNumber("n", n);
                }

                json.WriteEndObject();
            }

            builder.Append(Encoding.UTF8.GetString(stream.ToArray())).Append('\n');
        }

        return builder.ToString();
    }

    /// <summary>The CSV rows (header first) without line endings; <see cref="Csv"/> joins them with mixed endings.</summary>
    internal List<string> CsvRows()
    {
        var rows = new List<string> { "id,user_id,region,recipients,text,n" };
        foreach (var r in Records)
        {
            // A list holding an empty id cannot be written ';'-separated (one empty cell means no co-subjects): JSON array form.
            var subjects = r.Subjects.Count == 0 ? string.Empty
                : r.Subjects.Contains(string.Empty) ? JsonSerializer.Serialize(r.Subjects)
                : string.Join(';', r.Subjects);
            rows.Add(string.Join(',', r.Id, r.User ?? string.Empty, r.Region ?? string.Empty, Quote(subjects), Quote(r.Text), r.N?.ToString(CultureInfo.InvariantCulture) ?? string.Empty));
        }

        return rows;
    }

    internal string Csv()
    {
        var rows = CsvRows();
        var builder = new StringBuilder();
        for (var i = 0; i < rows.Count; i++)
        {
            builder.Append(rows[i]).Append(i % 2 == 0 ? "\r\n" : "\n");
        }

        return builder.ToString();
    }

    internal static ParquetSchema Schema { get; } = new(
        new DataField<string>("id"),
        new DataField<string>("user_id"),
        new DataField<string>("region"),
        new ListField("recipients", new DataField<string>("element")),
        new DataField<string>("text"),
        new DataField<int?>("n"));

    internal async Task WriteParquetAsync(string path, int rowGroupSize)
    {
        await using var file = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(Schema, file, null, false, default);
        var fields = Schema.GetDataFields();
        foreach (var chunk in Records.Chunk(rowGroupSize))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(fields[0], chunk.Select(r => r.Id).ToArray());
            await group.WriteAsync(fields[1], chunk.Select(r => r.User!).ToArray());
            await group.WriteAsync(fields[2], chunk.Select(r => r.Region!).ToArray());
            var values = new List<ReadOnlyMemory<char>>();
            var definitions = new List<int>();
            var repetitions = new List<int>();
            foreach (var r in chunk)
            {
                if (r.Subjects.Count == 0)
                {
                    // An empty list: defined up to the repeated level.
                    definitions.Add(1);
                    repetitions.Add(0);
                }

                for (var s = 0; s < r.Subjects.Count; s++)
                {
                    values.Add(r.Subjects[s].AsMemory());
                    definitions.Add(fields[3].MaxDefinitionLevel);
                    repetitions.Add(s == 0 ? 0 : 1);
                }
            }

            await group.WriteAllPartsAsync<ReadOnlyMemory<char>>(fields[3], values.ToArray(), definitions.ToArray(), repetitions.ToArray(), default);
            await group.WriteAsync(fields[4], chunk.Select(r => r.Text).ToArray());
            await group.WriteAsync<int>(fields[5], chunk.Select(r => r.N).ToArray(), null, null, default);
            group.CompleteValidate();
        }
    }

    /// <summary>Writes the records as Arrow IPC (file or stream format), <paramref name="batchSize"/> rows per record batch.</summary>
    internal async Task WriteArrowAsync(string path, int batchSize, bool file)
    {
        var schema = ArrowSchema;
        await using var output = File.Create(path);
        using var writer = file ? new Apache.Arrow.Ipc.ArrowFileWriter(output, schema) : new Apache.Arrow.Ipc.ArrowStreamWriter(output, schema);
        await writer.WriteStartAsync();
        foreach (var chunk in Records.Chunk(batchSize))
        {
            using var batch = ArrowBatch(chunk);
            await writer.WriteRecordBatchAsync(batch);
        }

        await writer.WriteEndAsync();
    }

    internal static Apache.Arrow.Schema ArrowSchema { get; } = new Apache.Arrow.Schema.Builder()
        .Field(f => f.Name("id").DataType(Apache.Arrow.Types.StringType.Default).Nullable(false))
        .Field(f => f.Name("user_id").DataType(Apache.Arrow.Types.StringType.Default))
        .Field(f => f.Name("region").DataType(Apache.Arrow.Types.StringType.Default))
        .Field(f => f.Name("recipients").DataType(new Apache.Arrow.Types.ListType(Apache.Arrow.Types.StringType.Default)))
        .Field(f => f.Name("text").DataType(Apache.Arrow.Types.StringType.Default))
        .Field(f => f.Name("n").DataType(Apache.Arrow.Types.Int32Type.Default))
        .Build();

    private static Apache.Arrow.RecordBatch ArrowBatch(Record[] chunk)
    {
        var ids = new Apache.Arrow.StringArray.Builder();
        var users = new Apache.Arrow.StringArray.Builder();
        var regions = new Apache.Arrow.StringArray.Builder();
        var recipients = new Apache.Arrow.ListArray.Builder(Apache.Arrow.Types.StringType.Default);
        var texts = new Apache.Arrow.StringArray.Builder();
        var numbers = new Apache.Arrow.Int32Array.Builder();
        foreach (var r in chunk)
        {
            ids.Append(r.Id);
            users.Append(r.User);
            regions.Append(r.Region);
            recipients.Append();
            foreach (var subject in r.Subjects)
            {
                ((Apache.Arrow.StringArray.Builder)recipients.ValueBuilder).Append(subject);
            }

            texts.Append(r.Text);
            numbers.Append(r.N);
        }

        return new Apache.Arrow.RecordBatch(ArrowSchema,
            [ids.Build(), users.Build(), regions.Build(), recipients.Build(), texts.Build(), numbers.Build()], chunk.Length);
    }

    /// <summary>The id column of every record batch of an Arrow IPC file or stream.</summary>
    internal static async Task<List<string>> ArrowIdsAsync(string path)
    {
        await using var input = File.OpenRead(path);
        var head = new byte[6];
        input.ReadExactly(head);
        input.Position = 0;
        using var reader = head.AsSpan().SequenceEqual("ARROW1"u8) ? new Apache.Arrow.Ipc.ArrowFileReader(input) : new Apache.Arrow.Ipc.ArrowStreamReader(input);
        var ids = new List<string>();
        while (await reader.ReadNextRecordBatchAsync() is { } batch)
        {
            using (batch)
            {
                var column = (Apache.Arrow.StringArray)batch.Column("id");
                for (var i = 0; i < column.Length; i++)
                {
                    ids.Add(column.GetString(i));
                }
            }
        }

        return ids;
    }

    /// <summary>Every row of a Parquet file as text: each column's levels and values, so two rows compare equal only when all of it is.</summary>
    internal static async Task<List<string>> ParquetRowsAsync(string path)
    {
        await using var reader = await ParquetReader.CreateAsync(path, null, default);
        var rows = new List<string>();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var texts = new List<StringBuilder>();
            for (var r = 0; r < group.RowCount; r++)
            {
                texts.Add(new StringBuilder());
            }

            foreach (var field in reader.Schema.GetDataFields())
            {
                using var raw = await group.ReadRawColumnDataBaseAsync(field, default);
                var defs = field.MaxDefinitionLevel > 0 ? raw.DefinitionLevels.ToArray() : null;
                var reps = field.MaxRepetitionLevel > 0 ? raw.RepetitionLevels.ToArray() : null;
                var values = raw switch
                {
                    RawColumnData<ReadOnlyMemory<char>> s => s.Values.ToArray().Select(v => v.ToString()).ToArray(),
                    RawColumnData<int> n => n.Values.ToArray().Select(v => v.ToString(CultureInfo.InvariantCulture)).ToArray(),
                    _ => throw new NotSupportedException(raw.GetType().ToString()),
                };
                var levels = defs?.Length ?? reps?.Length ?? (int)group.RowCount;
                var row = -1;
                var value = 0;
                for (var e = 0; e < levels; e++)
                {
                    if (reps is null || reps[e] == 0)
                    {
                        row++;
                        texts[row].Append('|').Append(field.Path).Append('=');
                    }

                    var isValue = defs is null || defs[e] == field.MaxDefinitionLevel;
                    texts[row].Append(CultureInfo.InvariantCulture, $"[{defs?[e]}:{reps?[e]}:{(isValue ? values[value++] : "∅")}]");
                }
            }

            rows.AddRange(texts.Select(t => t.ToString()));
        }

        return rows;
    }

    private static string Quote(string cell) =>
        cell.AsSpan().IndexOfAny(",\"\r\n") < 0 ? cell : "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    internal sealed record Record(string Id, string? User, string? Region, List<string> Subjects, string Text, int? N);
}
