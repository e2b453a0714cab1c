using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Reliability;

/// <summary>
/// Cancellation at every point of a file run: after k lines read, for every k, and at every file operation. A cancelled
/// run throws <see cref="OperationCanceledException"/> and leaves the directory as it was; a cancellation that arrives
/// once the commit started is too late, and the run then commits exactly what an uncancelled run commits.
/// </summary>
public sealed class CancellationAtEveryStageTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task RunToFilesAsync_CancelledAfterKLines_ForEveryK_ThrowsCancelledAndLeavesTheDirectoryAsItWas(bool previousOutputs, bool slow)
    {
        var seed = Seeds.Next();
        using var corpus = new ReliabilityCorpus(compressed: false);
        if (previousOutputs)
        {
            corpus.WritePreviousOutputs();
        }

        var before = corpus.Snapshot();
        using var filter = corpus.Load(parallelism: 3);
        await filter.RunToFilesAsync(corpus.Inputs, corpus.Outputs);
        var committed = corpus.Snapshot();
        corpus.Restore(before);

        var lineEnds = corpus.Inputs.Sum(path => File.ReadAllBytes(path).Count(b => b == (byte)'\n'));
        var random = new Random(seed);

        // Every k when fast; a seeded third of them when each read also waits, so cancellation lands mid-read.
        for (var k = 0; k <= lineEnds + 1; k++)
        {
            if (slow && k <= lineEnds && random.Next(3) != 0)
            {
                continue;
            }

            var context = $"cancelled after {k} of {lineEnds} line ends (slow {slow}), previous outputs {previousOutputs}; {Seeds.Replay(seed)}";
            using var cancel = new CancellationTokenSource();
            var counter = new LineCounter(k, cancel);
            filter.FileSystem = new FaultInjectingFileSystem
            {
                DecorateInput = stream => new CancelAfterLinesStream(stream, counter, new Random(random.Next()), slow),
            };

            var thrown = await Record.ExceptionAsync(() => filter.RunToFilesAsync(corpus.Inputs, corpus.Outputs, cancel.Token));
            if (k <= lineEnds)
            {
                Assert.True(thrown is OperationCanceledException, $"{context}: {thrown?.ToString() ?? "the run succeeded"}");
                corpus.AssertFiles(before, context);
            }
            else
            {
                Assert.True(thrown is null, $"{context}: {thrown}");
                corpus.AssertFiles(committed, context);
                corpus.Restore(before);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunToFilesAsync_CancelledAtEveryFileOperation_CommitsAllOrNothing(bool previousOutputs)
    {
        using var corpus = new ReliabilityCorpus();
        if (previousOutputs)
        {
            corpus.WritePreviousOutputs();
        }

        var before = corpus.Snapshot();
        using var filter = corpus.Load();
        var counting = new FaultInjectingFileSystem();
        filter.FileSystem = counting;
        await filter.RunToFilesAsync(corpus.Inputs, corpus.Outputs);
        var committed = corpus.Snapshot();
        corpus.Restore(before);

        foreach (var kind in Enum.GetValues<FileOperation>())
        {
            for (var n = 1; n <= counting.Count(kind); n++)
            {
                var context = $"cancelled at {kind} #{n} of {counting.Count(kind)}, previous outputs {previousOutputs}";
                using var cancel = new CancellationTokenSource();
                var faults = new FaultInjectingFileSystem { FailKind = kind, FailAt = n, OnFault = cancel.Cancel };
                filter.FileSystem = faults;

                var thrown = await Record.ExceptionAsync(() => filter.RunToFilesAsync(corpus.Inputs, corpus.Outputs, cancel.Token));
                Assert.True(faults.Triggered, context);
                if (kind is FileOperation.Rename or FileOperation.Delete)
                {
                    // Renames and deletes happen only inside the commit, past the point of no return.
                    Assert.True(thrown is null, $"{context}: {thrown}");
                    corpus.AssertFiles(committed, context);
                    corpus.Restore(before);
                }
                else
                {
                    Assert.True(thrown is OperationCanceledException, $"{context}: {thrown?.ToString() ?? "the run succeeded"}");
                    corpus.AssertFiles(before, context);
                }
            }
        }
    }

    /// <summary>Line ends seen across every input of one run; cancels when the k-th goes by (at once for k = 0).</summary>
    private sealed class LineCounter(int k, CancellationTokenSource cancel)
    {
        private int _seen;

        internal void Saw(ReadOnlySpan<byte> bytes)
        {
            if (k == 0)
            {
                cancel.Cancel();
                return;
            }

            _seen += bytes.Count((byte)'\n');
            if (_seen >= k)
            {
                cancel.Cancel();
            }
        }
    }

    /// <summary>Short reads of a seeded size, each optionally waiting a moment, reporting line ends to the counter.</summary>
    private sealed class CancelAfterLinesStream(Stream inner, LineCounter counter, Random random, bool slow) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer[..Math.Min(buffer.Length, random.Next(1, 700))]);
            counter.Saw(buffer[..n]);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (slow)
            {
                await Task.Delay(random.Next(2), cancellationToken);
            }

            var n = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, random.Next(1, 700))], cancellationToken);
            counter.Saw(buffer.Span[..n]);
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
