using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Support;
using RecordBatch = Apache.Arrow.RecordBatch;

namespace ConsentFilter.Tests.Tabular;

/// <summary>
/// An Arrow IPC stream or file of many batches whose decision columns (user and region) are dictionary-encoded, the
/// reader sharing one dictionary across the batches, run through the whole pipeline with two workers: every row is
/// decided as the typed-row API decides its values, kept rows keep their order and their dictionary values.
/// </summary>
/// <remarks>
/// With the reader's memory from <see cref="PoisoningArrowAllocator"/> freed memory is overwritten at once, so a batch
/// whose rows are released while the writer still needs them (kept rows that are the batch itself) fails
/// deterministically instead of by luck (checked by removing that guard). Removing the dictionary guard of
/// <c>ColumnarBatch</c> does not fail here: Apache.Arrow's IPC reader keeps dictionary memory with the reader, not with
/// the batches (42 buffers allocated, the 40 batch bodies freed, the 2 dictionaries not); the guard is for batches whose
/// dictionaries are owned per batch (ParquetSharp's imported arrays), which no test can poison from managed code.
/// </remarks>
public sealed class ArrowDictionaryStreamTests
{
    private static readonly string[] s_users = ["u00", "u01", "u02", "u03", "u04", "u05", "u06", "u07", "u08", "u09", "42", "ghost"];
    private static readonly string[] s_regions = ["US", "de", " US-CA ", "CN", "FR", "us-ny"];

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task ManyBatches_DictionaryDecisionColumns_EveryRowDecidedAsItsValues(bool file, bool poisonFreedMemory)
    {
        using var dir = new TempDirectory();
        var input = dir.File(file ? "records.arrow" : "records.arrows");
        var random = new Random(1234);
        var rows = new List<(long Id, int User, int? Region)>();
        var userType = new DictionaryType(Int32Type.Default, StringType.Default, false);
        var regionType = new DictionaryType(Int16Type.Default, StringType.Default, false);
        var schema = new Schema.Builder()
            .Field(f => f.Name("id").DataType(Int64Type.Default).Nullable(false))
            .Field(f => f.Name("user_id").DataType(userType))
            .Field(f => f.Name("region").DataType(regionType))
            .Build();
        var userDictionary = Strings(s_users);
        var regionDictionary = Strings(s_regions);

        await using (var output = File.Create(input))
        {
            using ArrowStreamWriter writer = file ? new ArrowFileWriter(output, schema) : new ArrowStreamWriter(output, schema);
            for (var b = 0; b < 40; b++)
            {
                var ids = new Int64Array.Builder();
                var users = new Int32Array.Builder();
                var regions = new Int16Array.Builder();
                var length = random.Next(1, 60);
                for (var i = 0; i < length; i++)
                {
                    var row = (Id: (long)rows.Count + 1, User: random.Next(s_users.Length), Region: random.Next(4) == 0 ? (int?)null : random.Next(s_regions.Length));
                    rows.Add(row);
                    ids.Append(row.Id);
                    users.Append(row.User);
                    if (row.Region is { } region)
                    {
                        regions.Append((short)region);
                    }
                    else
                    {
                        regions.AppendNull();
                    }
                }

                await writer.WriteRecordBatchAsync(new RecordBatch(schema,
                    [ids.Build(), new DictionaryArray(userType, users.Build(), userDictionary), new DictionaryArray(regionType, regions.Build(), regionDictionary)],
                    length));
            }

            await writer.WriteEndAsync();
        }

        var policy = TabularCorpus.Policy();
        var expected = rows.Where(r => policy.DecideRecord(s_users[r.User], r.Region is { } g ? s_regions[g] : null, null).IsKept).Select(r => r.Id).ToList();
        Assert.InRange(expected.Count, 50, rows.Count - 50);

        var options = new ConsentFilterOptions { MaxDegreeOfParallelism = 2 };
        var output2 = dir.File(file ? "kept.arrow" : "kept.arrows");
        var allocator = poisonFreedMemory ? new PoisoningArrowAllocator() : null;
        ConsentFilter.Parquet.ArrowFormat.ReaderAllocator.Value = allocator;
        FilterReport report;
        try
        {
            report = await new RecordFilter(policy, options).RunToFilesAsync([input], new FilterFileOutputs(output2));
        }
        finally
        {
            ConsentFilter.Parquet.ArrowFormat.ReaderAllocator.Value = null;
        }

        // The reader's memory came from the allocator (so a batch freed too early would have been poisoned).
        Assert.True(allocator is null || allocator.Allocated > 0);
        Assert.Equal(rows.Count, report.Totals.Records);
        Assert.Equal(expected.Count, report.Totals.Kept);

        var kept = new List<long>();
        await using (var stream = File.OpenRead(output2))
        {
            using ArrowStreamReader reader = file ? new ArrowFileReader(stream) : new ArrowStreamReader(stream);
            while (await reader.ReadNextRecordBatchAsync() is { } batch)
            {
                var ids = (Int64Array)batch.Column("id");
                var users = (DictionaryArray)batch.Column("user_id");
                for (var i = 0; i < batch.Length; i++)
                {
                    var id = ids.GetValue(i)!.Value;
                    kept.Add(id);
                    var index = ((Int32Array)users.Indices).GetValue(i)!.Value;
                    Assert.Equal(s_users[rows[(int)id - 1].User], ((StringArray)users.Dictionary).GetString(index));
                }
            }
        }

        Assert.Equal(expected, kept);
    }

    private static StringArray Strings(IEnumerable<string> values)
    {
        var builder = new StringArray.Builder();
        foreach (var value in values)
        {
            builder.Append(value);
        }

        return builder.Build();
    }
}
