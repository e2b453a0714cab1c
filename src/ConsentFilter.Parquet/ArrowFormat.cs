using Apache.Arrow.Ipc;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Parquet;

/// <summary>
/// Arrow IPC records, file (<c>ARROW1</c>) and stream format, with Apache.Arrow's readers and writers: each record batch
/// is one pipeline batch, decided like a Parquet row group; the output is the first input's IPC kind and schema.
/// </summary>
/// <remarks>
/// Both kinds are read front to back through the input's stream (so compression and the manifest's hash work as for
/// text formats): an IPC file is its magic, the stream format, and a footer, whose presence is checked at the end.
/// </remarks>
internal sealed class ArrowFormat : RecordFormatAdapter
{
    private static readonly byte[] s_magic = "ARROW1"u8.ToArray();

    internal static ArrowFormat Instance { get; } = new();

    /// <summary>
    /// The allocator the readers of runs started in this async flow use; null for Apache.Arrow's default. A test seam:
    /// an allocator that poisons freed memory makes a batch released while later batches still use its memory (a shared
    /// dictionary) decide wrongly instead of by luck rightly.
    /// </summary>
    internal static AsyncLocal<Apache.Arrow.Memory.MemoryAllocator?> ReaderAllocator { get; } = new();

    internal override RecordFormat Format => RecordFormat.Arrow;

    /// <summary>The IPC file format ends in a footer that indexes its blocks; keep both kinds to files for now.</summary>
    internal override bool WritesToPipes => false;

    internal override string PositionName => "row";

    internal override int ChannelCapacity(ConsentFilterOptions options) =>
        Math.Min(options.ChannelCapacity, Math.Max(2, options.MaxDegreeOfParallelism));

    internal override async ValueTask<IRecordReader> OpenReaderAsync(RecordInput input, int inputIndex, RunFormatState run, CancellationToken cancellationToken)
    {
        var stream = await input.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var head = new byte[8];
            var read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            var isFile = head.AsSpan(0, read).StartsWith(s_magic);
            if (read == 0)
            {
                throw new InvalidDataException($"{input.Name}: an empty file is no Arrow IPC file or stream");
            }

            var body = isFile ? stream : new PrefixedStream(head.AsMemory(0, read), stream);
            var reader = ReaderAllocator.Value is { } allocator ? new ArrowStreamReader(body, allocator, leaveOpen: true) : new ArrowStreamReader(body, leaveOpen: true);
            // The IPC file format is the stream format (schema message first) between magic and footer. A file without
            // that message (Apache.Arrow's file writer ended before any batch writes one) has its schema only in the
            // footer: refused with a clear word rather than read past.
            var streamSchema = reader.Schema
                ?? throw new DataFileException(input.Name, 0, 0, "the Arrow IPC data has no schema message (a file written without any record batch?); write at least one batch, or the stream format");
            var schema = new ColumnarSchema(streamSchema) { IsIpcFile = isFile };
            var columns = DecisionColumns.Resolve(schema.Schema, run.Options, input.Name);
            ColumnarSchema.Check(run, schema, input.Name, "Arrow");
            return new ArrowRecordReader(stream, reader, isFile, columns, inputIndex, input.Name);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal override IBatchWorker CreateWorker(WorkerContext context) => new ColumnarWorker(context);

    internal override IRecordSink CreateSink(Stream output, RunFormatState run) => new ArrowSink(new CountingStream(output), run);

    /// <summary>Counts the rows of every record batch.</summary>
    internal override async ValueTask<long> CountRecordsAsync(RecordInput input, CancellationToken cancellationToken)
    {
        var stream = await input.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var head = new byte[8];
            var read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            var isFile = head.AsSpan(0, read).StartsWith(s_magic);
            using var reader = new ArrowStreamReader(isFile ? stream : new PrefixedStream(head.AsMemory(0, read), stream), leaveOpen: true);
            long rows = 0;
            while (await reader.ReadNextRecordBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
            {
                rows += batch.Length;
                batch.Dispose();
            }

            return rows;
        }
    }

    private sealed class ArrowRecordReader(Stream stream, ArrowStreamReader reader, bool isFile, DecisionColumns columns, int inputIndex, string name) : IRecordReader
    {
        private long _rows;
        private long _sequence;
        private long _position;

        public InputContent Content => InputContent.Of(stream);

        public async ValueTask<RecordBatch?> ReadBatchAsync(CancellationToken cancellationToken)
        {
            var data = await reader.ReadNextRecordBatchAsync(cancellationToken).ConfigureAwait(false);
            if (data is null)
            {
                if (isFile)
                {
                    await CheckFooterAsync(cancellationToken).ConfigureAwait(false);
                }

                return null;
            }

            var batch = new ColumnarBatch(inputIndex, _sequence++, data, _rows, columns) { InputBytes = Consumed() };
            _rows += data.Length;
            return batch;
        }

        private long Consumed()
        {
            if (!stream.CanSeek)
            {
                return 0;
            }

            var now = stream.Position;
            var bytes = now - _position;
            _position = now;
            return bytes;
        }

        /// <summary>An IPC file ends in its footer and magic; a file cut short does not.</summary>
        private async ValueTask CheckFooterAsync(CancellationToken cancellationToken)
        {
            using var rest = new MemoryStream();
            await stream.CopyToAsync(rest, cancellationToken).ConfigureAwait(false);
            var tail = rest.GetBuffer().AsSpan(0, (int)rest.Length);
            if (tail.Length < 10 || !tail.EndsWith(s_magic))
            {
                throw new InvalidDataException($"{name}: the Arrow IPC file ends without its footer (truncated?)");
            }
        }

        public async ValueTask DisposeAsync()
        {
            reader.Dispose();
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Writes the kept rows of each batch as one record batch of the first input's IPC kind.</summary>
    private sealed class ArrowSink(Stream output, RunFormatState run) : IRecordSink
    {
        private ArrowStreamWriter? _writer;

        public async ValueTask WriteAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            if (((ColumnarBatch)batch).Filtered is { Length: > 0 } kept)
            {
                await Writer().WriteRecordBatchAsync(kept, cancellationToken).ConfigureAwait(false);
            }
        }

        public async ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            var writer = Writer();
            await writer.WriteStartAsync(cancellationToken).ConfigureAwait(false);
            await writer.WriteEndAsync(cancellationToken).ConfigureAwait(false);
        }

        private ArrowStreamWriter Writer()
        {
            if (_writer is null)
            {
                var schema = (ColumnarSchema?)run.Schema ?? throw new InvalidOperationException("no Arrow input set the output's schema");
                _writer = schema.IsIpcFile ? new ArrowFileWriter(output, schema.Schema, leaveOpen: true) : new ArrowStreamWriter(output, schema.Schema, leaveOpen: true);
            }

            return _writer;
        }

        public ValueTask DisposeAsync()
        {
            _writer?.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>The bytes read to detect the format, then the rest of the stream.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (!_prefix.IsEmpty)
            {
                var n = Math.Min(buffer.Length, _prefix.Length);
                _prefix.Span[..n].CopyTo(buffer);
                _prefix = _prefix[n..];
                return n;
            }

            return rest.Read(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_prefix.IsEmpty)
            {
                var n = Math.Min(buffer.Length, _prefix.Length);
                _prefix.Span[..n].CopyTo(buffer.Span);
                _prefix = _prefix[n..];
                return n;
            }

            return await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
