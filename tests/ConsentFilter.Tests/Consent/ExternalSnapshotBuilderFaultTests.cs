using System.Globalization;
using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Consent;

/// <summary>
/// Fault injection at every I/O call of the bounded-memory build (issue 14 item 1): each read, write and flush of the
/// spilled runs, the merged entries and the snapshot itself fails in turn. Every failure surfaces as the I/O error,
/// publishes nothing (an existing snapshot stays as it was) and leaves no temporary file behind.
/// </summary>
public sealed class ExternalSnapshotBuilderFaultTests : IDisposable
{
    private static readonly string[] s_purposes = ["ai_training"];

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <param name="fromFile">The CSV as a file (read on every core, in blocks) rather than a stream (the sequential reader).</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryIoCall_FailedInTurn_PublishesNothingAndLeavesNothing(bool fromFile)
    {
        var csv = Consent(rows: 60);
        var path = _temp.Write("out.snap", "old");
        var clean = new FaultPlan(failAt: 0);
        Build(csv, path, clean, fromFile);
        var calls = clean.Calls;
        var published = File.ReadAllBytes(path);
        Assert.True(calls > 20, $"only {calls} I/O calls: the runs did not spill, the test would check little");

        for (var failAt = 1; failAt <= calls; failAt++)
        {
            File.WriteAllText(path, "old");
            var plan = new FaultPlan(failAt);
            var error = Assert.ThrowsAny<IOException>(() => Build(csv, path, plan, fromFile));
            Assert.True(plan.Failed, $"call {failAt} of {calls} was never made");
            Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
            Assert.True(File.ReadAllText(path) == "old", $"failing call {failAt} of {calls} replaced the old snapshot");
            Assert.True(LeftoverFiles() is ["out.snap"], $"failing call {failAt} of {calls} left {string.Join(", ", LeftoverFiles())}");
        }

        // And without faults the same build publishes (the wrapper itself changes nothing).
        Build(csv, path, new FaultPlan(failAt: 0), fromFile);
        Assert.Equal(published.Length, new FileInfo(path).Length);
    }

    /// <summary>Cancelled once the parallel file build has spilled: nothing published, no temporary file left.</summary>
    [Fact]
    public void ParallelFileBuild_CancelledAfterItsFirstSpill_PublishesNothingAndLeavesNothing()
    {
        using var source = new TempDirectory();
        var csv = source.Write("c.csv", Consent(rows: 60_000));
        var path = _temp.Write("out.snap", "old");
        using var cancellation = new CancellationTokenSource();
        var options = new SnapshotBuildOptions
        {
            RunRows = 1000,
            PlainBlockBytes = 4096,
            StreamWrapper = inner =>
            {
                cancellation.Cancel();
                return inner;
            },
        };
        Assert.ThrowsAny<OperationCanceledException>(() => CompiledSnapshotBuilder.BuildFromCsv(csv, path, s_purposes, options, cancellation.Token));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["out.snap"], LeftoverFiles());
    }

    /// <summary>The delta build (issue 14 item 4) too: every call on the base, the changes' runs, the entries, the states and the output.</summary>
    [Fact]
    public void Delta_EveryIoCallFailedInTurn_PublishesNothingAndLeavesTheBaseAsItWas()
    {
        var basePath = _temp.File("base.snap");
        CompiledSnapshotBuilder.BuildFromCsv(new MemoryStream(Encoding.UTF8.GetBytes(Consent(rows: 60))), "c.csv", basePath, s_purposes,
            new SnapshotBuildOptions { RunRows = 7, Seed = 11, KeepMergeState = true }, default);
        var baseBytes = File.ReadAllBytes(basePath);
        var changes = Consent(rows: 30).Replace("2026-01-", "2026-02-", StringComparison.Ordinal);
        var path = _temp.Write("out.snap", "old");
        var clean = new FaultPlan(failAt: 0);
        Delta(changes, path, basePath, clean);
        Assert.True(clean.Calls > 20, $"only {clean.Calls} I/O calls");

        for (var failAt = 1; failAt <= clean.Calls; failAt++)
        {
            File.WriteAllText(path, "old");
            var plan = new FaultPlan(failAt);
            Assert.ThrowsAny<IOException>(() => Delta(changes, path, basePath, plan));
            Assert.True(plan.Failed, $"call {failAt} of {clean.Calls} was never made");
            Assert.True(File.ReadAllText(path) == "old", $"failing call {failAt} of {clean.Calls} replaced the old snapshot");
            Assert.Equal(baseBytes, File.ReadAllBytes(basePath));
            Assert.True(LeftoverFiles() is ["base.snap", "out.snap"], $"failing call {failAt} of {clean.Calls} left {string.Join(", ", LeftoverFiles())}");
        }
    }

    private static void Delta(string csv, string path, string basePath, FaultPlan plan) =>
        CompiledSnapshotBuilder.BuildFromCsv(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "changes.csv", path, s_purposes,
            new SnapshotBuildOptions { RunRows = 7, Base = basePath, StreamWrapper = inner => new FaultStream(inner, plan) }, default);

    private static void Build(string csv, string path, FaultPlan plan, bool fromFile = false)
    {
        var options = new SnapshotBuildOptions { RunRows = 7, Seed = 11, PlainBlockBytes = 256, StreamWrapper = inner => new FaultStream(inner, plan) };
        if (!fromFile)
        {
            CompiledSnapshotBuilder.BuildFromCsv(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "c.csv", path, s_purposes, options, default);
            return;
        }

        // The source beside, not among, the files the test checks for leftovers.
        using var source = new TempDirectory();
        CompiledSnapshotBuilder.BuildFromCsv(source.Write("c.csv", csv), path, s_purposes, options);
    }

    private static string Consent(int rows)
    {
        var csv = new StringBuilder("user_id,region,ai_training,updated_at\n");
        for (var i = 0; i < rows; i++)
        {
            // A third as many users as rows: each user's rows land in several spilled runs.
            csv.Append(CultureInfo.InvariantCulture, $"u{i % (rows / 3)},US,{(i % 4 == 0 ? "denied" : "granted")},2026-01-{1 + (i % 28):D2}\n");
        }

        return csv.ToString();
    }

    private string[] LeftoverFiles() =>
        [.. Directory.EnumerateFileSystemEntries(_temp.Path, "*", new EnumerationOptions { AttributesToSkip = 0 }).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal)];

    /// <summary>Counts read, write and flush calls across every stream of one build; fails the chosen one.</summary>
    private sealed class FaultPlan(int failAt)
    {
        private int _calls;

        public int Calls => _calls;

        public bool Failed { get; private set; }

        public void Call()
        {
            if (Interlocked.Increment(ref _calls) == failAt)
            {
                Failed = true;
                throw new IOException("No space left on device", 0x70);
            }
        }
    }

    private sealed class FaultStream(Stream inner, FaultPlan plan) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override void Flush()
        {
            plan.Call();
            inner.Flush();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            plan.Call();
            return inner.Read(buffer);
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            plan.Call();
            inner.Write(buffer);
        }

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void SetLength(long value) => inner.SetLength(value);

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
