using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>
/// The one data path: source adapter → workers → ordered writer → sink adapter, over bounded channels, for every record
/// format. The reader hands each batch both to the workers and, in input order, to the writer, which waits for each
/// batch's decisions before writing it. Bounded channels give backpressure, so memory stays at about
/// (2 × capacity + workers) batches whatever the corpus size.
/// </summary>
/// <remarks>
/// Fail-closed: the writer writes a batch only after a worker decided all of it, and only kept lines; any stage's
/// failure cancels the others and reaches the caller as the original exception. Committing outputs is the caller's.
/// </remarks>
internal sealed class FilterPipeline
{
    private readonly ConsentPolicy _policy;
    private readonly ConsentFilterOptions _options;
    private readonly FieldPaths _paths;
    private readonly RecordFormatAdapter _format;

    private readonly IProgress<FilterProgress>? _progress;

    internal FilterPipeline(ConsentPolicy policy, ConsentFilterOptions options, RecordFormatAdapter format, IProgress<FilterProgress>? progress = null)
    {
        _progress = progress;
        _policy = policy;
        _options = options;
        _format = format;
        _paths = CreatePaths(options);
    }

    internal static FieldPaths CreatePaths(ConsentFilterOptions options) =>
        new(options.UserField, options.RegionField, options.IdField, [.. options.SubjectFields], options.MaxSubjects);

    /// <summary>The run's output summary, when a <see cref="UserSummaryHasher"/> was given.</summary>
    internal OutputSummary? Summary { get; private set; }

    /// <summary>How each input was stored (compression, checksums), known once it was read to its end.</summary>
    internal InputContent[] Contents { get; private set; } = [];

    internal async Task<RunCounts[]> RunAsync(
        IReadOnlyList<RecordInput> inputs,
        Stream kept,
        Stream? rejections,
        Stream? quarantine,
        byte[]? hashKey,
        UserSummaryHasher? userSummary,
        CancellationToken cancellationToken)
    {
        // Room for about one (user, region) pair a snapshot user up front (bounded): growing by doubling rehashes every pair several times.
        Summary = userSummary is null ? null : new OutputSummary(expectedEntries: (int)Math.Min(_policy.Snapshot.Info.Users, 1 << 20));
        Contents = new InputContent[inputs.Count];
        var perInput = new RunCounts[inputs.Count];
        for (var i = 0; i < perInput.Length; i++)
        {
            perInput[i] = new RunCounts();
        }

        var names = inputs.Select(i => i.Name).ToArray();
        var audit = new AuditSettings(rejections is not null, quarantine is not null, hashKey, userSummary);
        var capacity = _format.ChannelCapacity(_options);
        var channelOptions = new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = true,
        };
        var work = Channel.CreateBounded<RecordBatch>(channelOptions);
        var order = Channel.CreateBounded<RecordBatch>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = true,
            SingleReader = true,
        });

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var failure = new FirstFailure(stop);
        var run = new RunFormatState(_options);
        var context = new WorkerContext(_policy, _options, _paths, audit, names);
        await using var sink = _format.CreateSink(kept, run);
        var stages = new List<Task>
        {
            failure.Run(() => ReadAsync(inputs, run, work.Writer, order.Writer, stop.Token)),
            failure.Run(() => WriteAsync(order.Reader, perInput, sink, rejections, quarantine, audit.SummaryPool, stop.Token)),
        };
        for (var w = 0; w < _options.MaxDegreeOfParallelism; w++)
        {
            var worker = _format.CreateWorker(context);
            stages.Add(failure.Run(() => Task.Run(() => WorkAsync(worker, work.Reader, stop.Token), stop.Token)));
        }

        await Task.WhenAll(stages).ConfigureAwait(false);
        failure.ThrowIfFailed(cancellationToken);
        return perInput;
    }

    private async Task ReadAsync(
        IReadOnlyList<RecordInput> inputs, RunFormatState run, ChannelWriter<RecordBatch> work, ChannelWriter<RecordBatch> order, CancellationToken cancellationToken)
    {
        try
        {
            for (var index = 0; index < inputs.Count; index++)
            {
                var reader = await _format.OpenReaderAsync(inputs[index], index, run, cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
                    {
                        // Order first: the writer must learn of a batch no later than a worker can finish it.
                        await order.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                        await work.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                    }

                    Contents[index] = reader.Content;
                }
            }
        }
        catch (Exception e)
        {
            // Complete with the failure, not as finished: the writer and the workers must learn that the input stopped
            // short from the channel itself. Completed plainly, the writer could see "no more batches" before this
            // failure reaches the others and finish the output (or fail there with a message that hides this one).
            work.TryComplete(e);
            order.TryComplete(e);
            throw;
        }

        work.TryComplete();
        order.TryComplete();
    }

    private static async Task WorkAsync(IBatchWorker worker, ChannelReader<RecordBatch> work, CancellationToken cancellationToken)
    {
        await foreach (var batch in work.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                worker.Process(batch, compact: true);
                batch.MarkProcessed();
            }
            catch (Exception e)
            {
                batch.MarkFailed(e);
                throw;
            }
        }
    }

    private async Task WriteAsync(
        ChannelReader<RecordBatch> order, RunCounts[] perInput, IRecordSink sink, Stream? rejections, Stream? quarantine, BatchSummaryPool summaries,
        CancellationToken cancellationToken)
    {
        var totals = new RunCounts();
        long totalBytes = 0;
        await foreach (var batch in order.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await batch.Processed.WaitAsync(cancellationToken).ConfigureAwait(false);
            await sink.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
            if (rejections is not null && batch.Rejections is { WrittenCount: > 0 } r)
            {
                await rejections.WriteAsync(r.WrittenMemory, cancellationToken).ConfigureAwait(false);
            }

            if (quarantine is not null && batch.Quarantine is { WrittenCount: > 0 } q)
            {
                await quarantine.WriteAsync(q.WrittenMemory, cancellationToken).ConfigureAwait(false);
            }

            // Counts, bytes included, are only ever added here on the writer, so the report never races with the reader.
            batch.Counts.Bytes = batch.InputBytes;
            perInput[batch.InputIndex].Add(batch.Counts);
            if (batch.Summary is { } summary)
            {
                Summary!.Add(summary);
                batch.Summary = null;
                summaries.Return(summary);
            }

            RunMetrics.Record(batch.Counts, batch.InputBytes);
            totals.Add(batch.Counts);
            totalBytes += batch.InputBytes;
            _progress?.Report(new FilterProgress(totals.Records, totals.Kept, totals.DroppedTotal, totals.QuarantinedTotal, totalBytes, batch.InputIndex));
            batch.Release();
        }

        // The reader completes the channel after a failure too: finish the output only when nothing stopped the run.
        cancellationToken.ThrowIfCancellationRequested();
        await sink.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Keeps the first real failure of any stage and cancels the others.</summary>
    private sealed class FirstFailure(CancellationTokenSource stop)
    {
        private ExceptionDispatchInfo? _first;

        internal async Task Run(Func<Task> stage)
        {
            try
            {
                await stage().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // A consequence of another stage's failure or of the caller's cancellation.
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _first, ExceptionDispatchInfo.Capture(e), null);
                await stop.CancelAsync().ConfigureAwait(false);
            }
        }

        internal void ThrowIfFailed(CancellationToken callerToken)
        {
            _first?.Throw();
            callerToken.ThrowIfCancellationRequested();
            if (stop.IsCancellationRequested)
            {
                throw new OperationCanceledException("the pipeline stopped before finishing");
            }
        }
    }
}
