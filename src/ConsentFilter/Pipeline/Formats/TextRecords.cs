namespace ConsentFilter.Pipeline;

/// <summary>Reads a text input (JSON Lines or CSV) as batches of whole lines or records, owning its stream.</summary>
internal class TextRecordReader(Stream stream, LineSplitter splitter) : IRecordReader
{
    public virtual async ValueTask<RecordBatch?> ReadBatchAsync(CancellationToken cancellationToken) =>
        await splitter.ReadBatchAsync(cancellationToken).ConfigureAwait(false);

    public InputContent Content => InputContent.Of(stream);

    public ValueTask DisposeAsync() => stream.DisposeAsync();
}

/// <summary>Writes the kept lines of text batches (compacted to the front of each batch's buffer) to a stream.</summary>
internal sealed class TextRecordSink(Stream output) : IRecordSink
{
    public async ValueTask WriteAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        var lines = (LineBatch)batch;
        if (lines.KeptLength > 0)
        {
            await output.WriteAsync(lines.Buffer.AsMemory(0, lines.KeptLength), cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>JSON Lines (SPEC 2.1): one JSON object per line.</summary>
internal sealed class JsonLinesFormat : RecordFormatAdapter
{
    internal static JsonLinesFormat Instance { get; } = new();

    internal override RecordFormat Format => RecordFormat.JsonLines;

    internal override async ValueTask<IRecordReader> OpenReaderAsync(RecordInput input, int inputIndex, RunFormatState run, CancellationToken cancellationToken)
    {
        var stream = await input.OpenAsync(cancellationToken).ConfigureAwait(false);
        return new TextRecordReader(stream, new LineSplitter(stream, inputIndex, run.Options.BatchBytes, run.Options.MaxLineLength));
    }

    internal override IBatchWorker CreateWorker(WorkerContext context) => new JsonLinesWorker(context);

    internal override IRecordSink CreateSink(Stream output, RunFormatState run) => new TextRecordSink(output);
}
