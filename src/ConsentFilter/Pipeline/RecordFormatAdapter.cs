using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>
/// A record format around the one pipeline: its reader turns an input into batches with each record's place, its
/// workers extract the decision fields and decide each record through <see cref="RecordDecision"/> and
/// <see cref="RecordAudit"/>, and its sink writes the kept records in input order.
/// </summary>
/// <remarks>
/// Adapters are small and internal; <see cref="RecordFormats"/> picks one per run (by option, name or content), and
/// every capability built on the pipeline (ordering, cancellation, manifests, sharding, metrics) serves them all.
/// </remarks>
internal abstract class RecordFormatAdapter
{
    /// <summary>The format this adapter reads and writes.</summary>
    internal abstract RecordFormat Format { get; }

    /// <summary>Whether kept records can be written to a stream that cannot seek (standard output).</summary>
    internal virtual bool WritesToPipes => true;

    /// <summary>The position's name in audit lines: <c>line</c> for text formats, <c>row</c> for columnar ones.</summary>
    internal virtual string PositionName => "line";

    /// <summary>Batches each pipeline channel holds (a columnar batch is a whole row group, so columnar formats hold fewer).</summary>
    internal virtual int ChannelCapacity(ConsentFilterOptions options) => options.ChannelCapacity;

    /// <summary>Opens the reader of one input.</summary>
    /// <param name="input">The input.</param>
    /// <param name="inputIndex">Its index in the run.</param>
    /// <param name="run">State shared by the run's inputs (a CSV header, a Parquet schema).</param>
    /// <param name="cancellationToken">Stops opening.</param>
    internal abstract ValueTask<IRecordReader> OpenReaderAsync(RecordInput input, int inputIndex, RunFormatState run, CancellationToken cancellationToken);

    /// <summary>Creates one worker's decider (a worker's scratch state is its own).</summary>
    internal abstract IBatchWorker CreateWorker(WorkerContext context);

    /// <summary>Creates the sink that writes kept records to <paramref name="output"/>.</summary>
    internal abstract IRecordSink CreateSink(Stream output, RunFormatState run);

    /// <summary>Counts the records of a file of this format (for <c>verify</c>: a kept output holds exactly the manifest's count).</summary>
    /// <remarks>Text formats count the entries their reader finds, neither blank nor a header, so a CSV row with quoted line breaks counts once.</remarks>
    internal virtual async ValueTask<long> CountRecordsAsync(RecordInput input, CancellationToken cancellationToken)
    {
        var reader = await OpenReaderAsync(input, 0, new RunFormatState(new ConsentFilterOptions()), cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            long records = 0;
            while (await reader.ReadBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
            {
                try
                {
                    var lines = (LineBatch)batch;
                    for (var i = 0; i < lines.Count; i++)
                    {
                        var entry = lines.Lines[i];
                        if ((entry.Flags & LineFlags.Header) == 0
                            && ((entry.Flags & LineFlags.TooLong) != 0 || lines.Content(entry).IndexOfAnyExcept(" \t\r\n"u8) >= 0))
                        {
                            records++;
                        }
                    }
                }
                finally
                {
                    batch.Release();
                }
            }

            return records;
        }
    }
}

/// <summary>Turns one input into batches, in order.</summary>
internal interface IRecordReader : IAsyncDisposable
{
    /// <summary>The next batch, or null at the end of the input.</summary>
    ValueTask<RecordBatch?> ReadBatchAsync(CancellationToken cancellationToken);

    /// <summary>How the input was stored (compression, checksums); complete once it was read to its end.</summary>
    InputContent Content { get; }
}

/// <summary>Decides every record of a batch (one per worker; not thread-safe).</summary>
internal interface IBatchWorker
{
    /// <summary>Decides and accounts for each record of <paramref name="batch"/>.</summary>
    /// <param name="batch">A batch of this worker's format.</param>
    /// <param name="compact">Whether to prepare the kept records for the sink (false when results are handed out record by record).</param>
    void Process(RecordBatch batch, bool compact);
}

/// <summary>Writes kept records, batch after batch in input order.</summary>
internal interface IRecordSink : IAsyncDisposable
{
    ValueTask WriteAsync(RecordBatch batch, CancellationToken cancellationToken);

    /// <summary>Writes whatever the format needs after the last batch (a footer); the output is then complete.</summary>
    ValueTask CompleteAsync(CancellationToken cancellationToken);
}

/// <summary>What a worker needs to decide and account for records.</summary>
internal sealed record WorkerContext(ConsentPolicy Policy, ConsentFilterOptions Options, FieldPaths Paths, AuditSettings Audit, IReadOnlyList<string> InputNames);

/// <summary>
/// State one run's inputs share, set by the reader stage (one input at a time): the header or schema the output carries,
/// which every later input must match.
/// </summary>
internal sealed class RunFormatState(ConsentFilterOptions options)
{
    internal ConsentFilterOptions Options { get; } = options;

    /// <summary>The output's header or schema, set by the first input that has one.</summary>
    internal object? Schema { get; set; }

    /// <summary>The first input whose header or schema the output carries (for error messages).</summary>
    internal string? SchemaSource { get; set; }
}
