using System.Diagnostics;
using System.Text;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>A cancelled run stops, says so with <see cref="OperationCanceledException"/>, and commits nothing (SPEC 4 atomic commit).</summary>
public sealed class CancellationTests : IDisposable
{
    private static readonly TimeSpan s_guard = TimeSpan.FromSeconds(20);

    private readonly TempDirectory _dir = new();

    public CancellationTests() => HandMadeCorpus.WriteTo(_dir);

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(1, 3)]
    [InlineData(3, 5)]
    public async Task RunAsync_TokenCancelledAfterSomeBatches_ThrowsOperationCanceledAndClosesTheInput(int parallelism, int batches)
    {
        var filter = Load(parallelism);
        using var cancel = new CancellationTokenSource();
        var input = new EndlessSlowStream(cancelAfterBytes: batches * 4096, cancel);
        using var kept = new MemoryStream();

        // The input never ends: only cancellation can finish this run; the guard turns a hang into a failure.
        var run = filter.RunAsync([RecordInput.FromStream(input, "endless.jsonl")], new FilterOutputs(kept), cancel.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(s_guard));
        Assert.True(cancel.IsCancellationRequested);
        Assert.True(input.Disposed, "the pipeline disposes its input when it stops");
    }

    [Fact]
    public async Task RunToFilesAsync_AlreadyCancelled_WritesNoFile()
    {
        var filter = Load(2);
        var before = _dir.FileNames();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => filter.RunToFilesAsync(
            [Records], Outputs(), new CancellationToken(canceled: true)));

        Assert.Equal(before, _dir.FileNames());
    }

    [LinuxFact]
    public async Task RunToFilesAsync_CancelledWhileReadingANamedPipe_LeavesNoOutputAndNoTemporaryFile()
    {
        var fifo = _dir.File("records.fifo");
        MakeFifo(fifo);
        File.WriteAllText(_dir.File("kept.jsonl"), "an older output\n");
        var before = _dir.FileNames();
        var filter = Load(3);
        using var cancel = new CancellationTokenSource();

        var writer = Task.Run(async () =>
        {
            // Opening a FIFO for writing blocks until the filter opens it for reading.
            await using var pipe = new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            var line = Encoding.UTF8.GetBytes("{\"user_id\":\"alice\",\"text\":\"streamed\"}\n");
            for (var written = 0; written < 12 * 4096; written += line.Length)
            {
                await pipe.WriteAsync(line);
            }

            await pipe.FlushAsync();
            await cancel.CancelAsync();
            await Task.Delay(100);

            // Closing the write end ends a read the kernel cannot interrupt; the run must still not commit.
        });

        var run = filter.RunToFilesAsync([fifo], Outputs(), cancel.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(s_guard));
        await writer.WaitAsync(s_guard);
        Assert.Equal(before, _dir.FileNames());
        Assert.Equal("an older output\n", File.ReadAllText(_dir.File("kept.jsonl")));
    }

    private string Records => _dir.File(HandMadeCorpus.RecordsFile);

    private FilterFileOutputs Outputs() =>
        new(_dir.File("kept.jsonl"), _dir.File("rejected.jsonl"), _dir.File("quarantine.jsonl"), _dir.File("report.json"));

    private RecordFilter Load(int parallelism) => RecordFilter.Load(
        _dir.File(HandMadeCorpus.ConsentFile),
        _dir.File(HandMadeCorpus.JurisdictionsFile),
        new ConsentFilterOptions { MaxDegreeOfParallelism = parallelism, BatchBytes = 4096, ChannelCapacity = 2 });

    private static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("mkfifo did not start");
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    /// <summary>An endless JSONL source that delivers small chunks slowly and cancels a token after a number of bytes.</summary>
    private sealed class EndlessSlowStream(int cancelAfterBytes, CancellationTokenSource cancel) : Stream
    {
        private static readonly byte[] s_line = Encoding.UTF8.GetBytes("{\"user_id\":\"alice\",\"text\":\"slow\"}\n");
        private long _position;

        public bool Disposed { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(1, CancellationToken.None);
            var n = Math.Min(buffer.Length, 1000);
            for (var i = 0; i < n; i++)
            {
                buffer.Span[i] = s_line[(int)(_position++ % s_line.Length)];
            }

            if (_position >= cancelAfterBytes)
            {
                await cancel.CancelAsync();
            }

            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("async only");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }

        public override ValueTask DisposeAsync()
        {
            Disposed = true;
            return base.DisposeAsync();
        }
    }
}
