using System.Diagnostics;
using ParquetSharp.Arrow;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// Where a Parquet→Parquet run's time goes, stage by stage with stopwatches and CPU time (one process, no pipeline):
/// decoding every column of every row group, decoding the decision columns only, and writing the decoded batches back
/// with the input's codec. Run: <c>probe parquet FILE [rounds]</c>.
/// </summary>
internal static class ParquetProbe
{
    internal static int Run(string[] args)
    {
        var path = args[0];
        var rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2;
        using var metadataReader = new ParquetSharp.ParquetFileReader(path);
        var names = Enumerable.Range(0, metadataReader.FileMetaData.Schema.NumColumns)
            .Select(c => metadataReader.FileMetaData.Schema.Column(c).Path.ToDotString()).ToArray();
        Console.WriteLine($"{path}: {ColumnarCorpus.Describe(path)}; leaf columns: {string.Join(", ", names)}");
        Console.WriteLine($"Arrow default memory pool: {ParquetSharp.MemoryPool.GetDefaultMemoryPool().BackendName}");
        if (args.Contains("--pool-only"))
        {
            return 0;
        }

        for (var round = 0; round < rounds; round++)
        {
            foreach (var threads in new[] { false, true })
            {
                Time($"read all columns, UseThreads={threads}", () => Read(path, threads, null));
            }

            Time("read user_id, region, recipients only", () => Read(path, true, ["user_id", "region", "recipients"]));
            Time("read all + write all (snappy), unbuffered", () => Rewrite(path, buffered: false));
            Time("read all + write all (snappy), buffered, UseThreads", () => Rewrite(path, buffered: true));
        }

        return 0;
    }

    private static void Time(string name, Func<long> stage)
    {
        GC.Collect();
        var cpu = CpuTime.Self();
        var clock = Stopwatch.StartNew();
        var result = stage();
        Console.WriteLine($"{name,-55} {clock.Elapsed.TotalSeconds,6:F2} s wall {CpuTime.Self() - cpu,6:F2} s CPU  ({result:N0})");
    }

    private static FileReader Open(string path, bool threads)
    {
        var properties = ArrowReaderProperties.GetDefault();
        properties.BatchSize = 1 << 24;
        properties.UseThreads = threads;
        return new FileReader(path, arrowProperties: properties);
    }

    private static long Read(string path, bool threads, string[]? columns)
    {
        using var reader = Open(path, threads);
        var indices = columns?.Select(c => reader.Schema.GetFieldIndex(c)).ToArray();
        long rows = 0;
        for (var g = 0; g < reader.NumRowGroups; g++)
        {
            using var batches = indices is null ? reader.GetRecordBatchReader([g]) : reader.GetRecordBatchReader([g], indices);
            while (batches.ReadNextRecordBatchAsync().AsTask().GetAwaiter().GetResult() is { } batch)
            {
                rows += batch.Length;
                batch.Dispose();
            }
        }

        return rows;
    }

    private static long Rewrite(string path, bool buffered)
    {
        using var reader = Open(path, true);
        using var builder = new ParquetSharp.WriterPropertiesBuilder();
        builder.Compression(ParquetSharp.Compression.Snappy);
        using var properties = builder.Build();
        using var arrowBuilder = new ArrowWriterPropertiesBuilder();
        if (buffered)
        {
            arrowBuilder.UseThreads(true);
        }

        using var arrowProperties = arrowBuilder.Build();
        using var output = new FileStream(Path.Combine(Path.GetTempPath(), "consentfilter-probe.parquet"), FileMode.Create);
        using var writer = new FileWriter(output, reader.Schema, properties, arrowProperties, leaveOpen: true);
        long rows = 0;
        for (var g = 0; g < reader.NumRowGroups; g++)
        {
            using var batches = reader.GetRecordBatchReader([g]);
            while (batches.ReadNextRecordBatchAsync().AsTask().GetAwaiter().GetResult() is { } batch)
            {
                using (batch)
                {
                    if (buffered)
                    {
                        writer.WriteBufferedRecordBatch(batch);
                        writer.NewBufferedRowGroup();
                    }
                    else
                    {
                        writer.WriteRecordBatch(batch, batch.Length);
                    }

                    rows += batch.Length;
                }
            }
        }

        writer.Close();
        return output.Length;
    }
}
