using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Tabular;

namespace ConsentFilter.Tests.Pipeline;

/// <summary>
/// A reader that fails stops the run with its own error, and the sink is never finished: the writer must not take the
/// end of the batches for the end of the input. (Once seen in CI: a Parquet input without the user column reported the
/// sink's "no input set the output's schema" instead of the missing column, because the writer finished the output
/// between the reader completing its channels and its failure reaching the other stages.)
/// </summary>
public sealed class ReaderFailureTests
{
    private const int Rounds = 1000;

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task ReaderFails_RunThrowsTheReadersError_SinkNeverCompleted(int batchesBeforeFailure)
    {
        var options = new ConsentFilterOptions { MaxDegreeOfParallelism = 2 };
        for (var round = 0; round < Rounds; round++)
        {
            var format = new FailingReaderFormat(batchesBeforeFailure);
            var pipeline = new FilterPipeline(TabularCorpus.Policy(), options, format);
            var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
                pipeline.RunAsync([RecordInput.FromStream(new MemoryStream(), "records")], Stream.Null, null, null, null, null, CancellationToken.None));

            Assert.Equal(FailingReaderFormat.ReaderError, error.Message);
            Assert.Equal(0, format.Sink.Completions);
            Assert.InRange(format.Sink.Written, 0, batchesBeforeFailure);
        }
    }

    private sealed class FailingReaderFormat(int batchesBeforeFailure) : RecordFormatAdapter
    {
        internal const string ReaderError = "input ended in the middle of a record";

        internal CountingSink Sink { get; } = new();

        internal override RecordFormat Format => RecordFormat.JsonLines;

        internal override async ValueTask<IRecordReader> OpenReaderAsync(RecordInput input, int inputIndex, RunFormatState run, CancellationToken cancellationToken)
        {
            // Let the writer reach its wait for batches first, as it does when opening a real file takes a moment.
            await Task.Yield();
            if (batchesBeforeFailure == 0)
            {
                throw new InvalidDataException(ReaderError);
            }

            return new Reader(batchesBeforeFailure);
        }

        internal override IBatchWorker CreateWorker(WorkerContext context) => new Worker();

        internal override IRecordSink CreateSink(Stream output, RunFormatState run) => Sink;
    }

    private sealed class Reader(int batches) : IRecordReader
    {
        private int _read;

        public InputContent Content => throw new InvalidOperationException("the input was not read to its end");

        public async ValueTask<RecordBatch?> ReadBatchAsync(CancellationToken cancellationToken)
        {
            await Task.Yield();
            return _read < batches ? new EmptyBatch(_read++) : throw new InvalidDataException(FailingReaderFormat.ReaderError);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class EmptyBatch(long sequence) : RecordBatch(0, sequence)
    {
        internal override int RecordCount => 0;

        internal override RecordResult? Result(int index) => null;

        internal override void Release()
        {
        }
    }

    private sealed class Worker : IBatchWorker
    {
        public void Process(RecordBatch batch, bool compact)
        {
        }
    }

    private sealed class CountingSink : IRecordSink
    {
        private int _written;
        private int _completions;

        internal int Written => _written;

        internal int Completions => _completions;

        public ValueTask WriteAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _written);
            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _completions);
            throw new InvalidOperationException("the sink was finished although the input failed");
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
