using ConsentFilter.Pipeline;
using ParquetSharp.Arrow;

namespace ConsentFilter.Parquet;

/// <summary>
/// Parquet records through ParquetSharp's Arrow API: each row group is read as one Apache.Arrow record batch (the reader
/// stage decodes it, ParquetSharp's own threads helping), the workers decide its rows, and the sink writes each batch's
/// kept rows as one output row group with the first input's schema and per-column codecs.
/// </summary>
internal sealed class ParquetFormat : RecordFormatAdapter
{
    /// <summary>Rows read as one Arrow batch: a whole row group in practice.</summary>
    private const long RowsPerBatch = 1 << 24;

    internal static ParquetFormat Instance { get; } = new();

    internal override RecordFormat Format => RecordFormat.Parquet;

    /// <summary>A Parquet file is written with a footer that points back into it: not to a pipe.</summary>
    internal override bool WritesToPipes => false;

    internal override string PositionName => "row";

    /// <summary>Each batch is a whole row group: a few in flight, enough to keep the workers busy.</summary>
    internal override int ChannelCapacity(ConsentFilterOptions options) =>
        Math.Min(options.ChannelCapacity, Math.Max(2, options.MaxDegreeOfParallelism));

    internal override async ValueTask<IRecordReader> OpenReaderAsync(RecordInput input, int inputIndex, RunFormatState run, CancellationToken cancellationToken)
    {
        var file = await OpenAsync(input, cancellationToken).ConfigureAwait(false);
        FileReader? reader = null;
        try
        {
            reader = Open(file);
            var (codecs, plain) = Encodings(reader);
            var schema = new ColumnarSchema(reader.Schema) { Codecs = codecs, PlainColumns = plain };
            var columns = DecisionColumns.Resolve(schema.Schema, run.Options, input.Name);
            ColumnarSchema.Check(run, schema, input.Name, "Parquet");
            return new ParquetRecordReader(file, reader, columns, inputIndex);
        }
        catch
        {
            reader?.Dispose();
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal override IBatchWorker CreateWorker(WorkerContext context) => new ColumnarWorker(context);

    internal override IRecordSink CreateSink(Stream output, RunFormatState run) => new ParquetSink(new CountingStream(output), run);

    /// <summary>The row count from the footer.</summary>
    internal override async ValueTask<long> CountRecordsAsync(RecordInput input, CancellationToken cancellationToken)
    {
        var file = await OpenAsync(input, cancellationToken).ConfigureAwait(false);
        await using (file.ConfigureAwait(false))
        {
            using var reader = Open(file);
            return reader.ParquetReader.FileMetaData.NumRows;
        }
    }

    /// <summary>Opens the file for random access, after hashing its bytes for the manifest when the run asks for it.</summary>
    private static async ValueTask<Stream> OpenAsync(RecordInput input, CancellationToken cancellationToken)
    {
        if (input.Path is { } path && path != IO.RecordFiles.StandardStream)
        {
            var file = new StampedFileStream(path);
            try
            {
                if (input.ContentDigest is { } digest)
                {
                    // 1 MiB reads: the digest hashes spans this large where they lie, smaller ones it first copies.
                    var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
                    try
                    {
                        int read;
                        while ((read = await file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                        {
                            await digest.AppendAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    }

                    file.Position = 0;
                }

                return file;
            }
            catch
            {
                await file.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        var stream = await input.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (!stream.CanSeek)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw new DataFileException(input.Name, 0, 0, "Parquet records are read from a file (or a seekable stream), not standard input");
        }

        return stream;
    }

    private static FileReader Open(Stream file)
    {
        var properties = ArrowReaderProperties.GetDefault();
        properties.BatchSize = RowsPerBatch;
        properties.UseThreads = true;
        return new FileReader(file, arrowProperties: properties, leaveOpen: true);
    }

    /// <summary>Each leaf column's codec in the first row group, and the columns it stores without a dictionary.</summary>
    private static (List<(string, ParquetSharp.Compression)> Codecs, List<string> Plain) Encodings(FileReader reader)
    {
        var metadata = reader.ParquetReader.FileMetaData;
        var codecs = new List<(string, ParquetSharp.Compression)>();
        var plain = new List<string>();
        if (metadata.NumRowGroups == 0)
        {
            return (codecs, plain);
        }

        using var rowGroup = reader.ParquetReader.RowGroup(0);
        for (var c = 0; c < metadata.Schema.NumColumns; c++)
        {
            using var chunk = rowGroup.MetaData.GetColumnChunkMetaData(c);
            using var path = metadata.Schema.Column(c).Path;
            var name = path.ToDotString();
            codecs.Add((name, chunk.Compression));
            if (!chunk.Encodings.Any(e => e is ParquetSharp.Encoding.PlainDictionary or ParquetSharp.Encoding.RleDictionary))
            {
                plain.Add(name);
            }
        }

        return (codecs, plain);
    }

    /// <summary>Reads the row groups of one file in order, each as one batch (more when a row group exceeds <see cref="RowsPerBatch"/>).</summary>
    private sealed class ParquetRecordReader(Stream file, FileReader reader, DecisionColumns columns, int inputIndex) : IRecordReader
    {
        private readonly int _rowGroups = reader.ParquetReader.FileMetaData.NumRowGroups;
        private int _rowGroup = -1;
        private Apache.Arrow.Ipc.IArrowArrayStream? _batches;
        private long _rows;
        private long _sequence;
        private long _pendingBytes;

        public InputContent Content => new(IO.CompressionFormat.None, false);

        public async ValueTask<RecordBatch?> ReadBatchAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (_batches is null)
                {
                    if (++_rowGroup >= _rowGroups)
                    {
                        // The file is hashed in one pass and read in another: had it changed in between, the manifest
                        // would not describe the records filtered. Fail the run instead (nothing is committed).
                        (file as StampedFileStream)?.ThrowIfChanged();
                        return null;
                    }

                    _pendingBytes = RowGroupBytes(_rowGroup);
                    _batches = reader.GetRecordBatchReader([_rowGroup]);
                }

                var data = await _batches.ReadNextRecordBatchAsync(cancellationToken).ConfigureAwait(false);
                if (data is null)
                {
                    _batches.Dispose();
                    _batches = null;
                    continue;
                }

                var batch = new ColumnarBatch(inputIndex, _sequence++, data, _rows, columns) { InputBytes = _pendingBytes };
                _pendingBytes = 0;
                _rows += data.Length;
                return batch;
            }
        }

        /// <summary>A row group's stored bytes; the first also carries the file's header and footer, so an input's batches add up to its size.</summary>
        private long RowGroupBytes(int rowGroup)
        {
            long bytes = 0;
            using var group = reader.ParquetReader.RowGroup(rowGroup);
            for (var c = 0; c < group.MetaData.NumColumns; c++)
            {
                using var chunk = group.MetaData.GetColumnChunkMetaData(c);
                bytes += chunk.TotalCompressedSize;
            }

            if (rowGroup == 0)
            {
                long all = 0;
                for (var g = 0; g < _rowGroups; g++)
                {
                    using var other = reader.ParquetReader.RowGroup(g);
                    for (var c = 0; c < other.MetaData.NumColumns; c++)
                    {
                        using var chunk = other.MetaData.GetColumnChunkMetaData(c);
                        all += chunk.TotalCompressedSize;
                    }
                }

                bytes += Math.Max(0, file.Length - all);
            }

            return bytes;
        }

        public async ValueTask DisposeAsync()
        {
            _batches?.Dispose();
            reader.Dispose();
            await file.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Writes each batch's kept rows as one row group; the footer at completion (with the schema even when nothing is kept).</summary>
    private sealed class ParquetSink(Stream output, RunFormatState run) : IRecordSink
    {
        private FileWriter? _writer;

        public ValueTask WriteAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            if (((ColumnarBatch)batch).Filtered is { Length: > 0 } kept)
            {
                Writer().WriteRecordBatch(kept, kept.Length);
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            Writer().Close();
            return ValueTask.CompletedTask;
        }

        private FileWriter Writer()
        {
            if (_writer is not null)
            {
                return _writer;
            }

            var schema = (ColumnarSchema?)run.Schema ?? throw new InvalidOperationException("no Parquet input set the output's schema");
            using var builder = new ParquetSharp.WriterPropertiesBuilder();
            builder.Compression(ParquetSharp.Compression.Snappy);
            foreach (var (path, codec) in schema.Codecs)
            {
                builder.Compression(path, codec);
            }

            // A column the input stores without a dictionary (unique text, mostly) is written without one too: trying a
            // dictionary first hashes every value of the row group before falling back to plain pages.
            foreach (var path in schema.PlainColumns)
            {
                builder.DisableDictionary(path);
            }

            using var properties = builder.Build();
            using var arrowBuilder = new ArrowWriterPropertiesBuilder();
            using var arrowProperties = arrowBuilder.Build();
            _writer = new FileWriter(output, schema.Schema, properties, arrowProperties, leaveOpen: true);
            return _writer;
        }

        public ValueTask DisposeAsync()
        {
            _writer?.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// A Parquet input file with its length and last write time as opened, so a file changed in place while it is hashed
/// and read is caught at the end of its reading.
/// </summary>
internal sealed class StampedFileStream : FileStream
{
    private readonly string _path;
    private readonly (long Length, DateTime Written) _opened;

    internal StampedFileStream(string path)
        : base(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous)
    {
        _path = path;
        _opened = Stamp();
    }

    internal void ThrowIfChanged()
    {
        if (Stamp() != _opened)
        {
            throw new IOException($"{_path} changed while it was being read (its length or modification time differs from when it was opened)");
        }
    }

    private (long, DateTime) Stamp() => (RandomAccess.GetLength(SafeFileHandle), File.GetLastWriteTimeUtc(SafeFileHandle));
}
