using System.Globalization;
using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Consent;

/// <summary>The bounded-memory build (sorted runs spilled and merged): byte for byte the in-memory build; nothing left behind.</summary>
public sealed class ExternalSnapshotBuilderTests : IDisposable
{
    private static readonly string[] s_regions = ["", "DE", "us", "US-CA", "CN", " fr ", "uk"];
    private static readonly string[] s_consent = ["granted", "denied", "", "unset", "YES", "opt_out"];
    private static readonly string[] s_timestamps = ["", "", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-01", "2026-02-01T01:00:00+01:00"];
    private static readonly string[] s_purposes = ["ai_training", "analytics"];

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Property(MaxTest = 100)]
    public Property External_WithRunsOfAFewRows_IsByteIdenticalToInMemory() => Prop.ForAll(
        Gen.Choose(0, 1_000_000).SelectMany(seed => Gen.Choose(1, 120).SelectMany(rows => Gen.Choose(1, 7).Select(run => (seed, rows, run)))).ToArbitrary(),
        ((int Seed, int Rows, int RunRows) input) =>
        {
            var csv = RandomConsentCsv(new Random(input.Seed), input.Rows);
            var (inMemory, external) = BuildBoth(csv, input.RunRows, (ulong)input.Seed * 7919);
            return inMemory.AsSpan().SequenceEqual(external) && LeftoverFiles().Length == 2;
        });

    [Fact]
    public void External_OneUserSplitAcrossEveryRun_MergesDatedUndatedAndConflicts()
    {
        // u1's rows land in five runs of two rows: the latest dated rows (two, conflicting) plus the undated ones count.
        var csv = "user_id,region,ai_training,analytics,gpc,minor,updated_at\n"
            + "u1,DE,granted,granted,false,,2026-01-01T00:00:00Z\n"
            + "u2,US,granted,granted,false,,\n"
            + "u1,FR,granted,granted,false,,2026-03-01T00:00:00Z\n"
            + "u1,US,denied,granted,false,,\n"
            + "u3,US,denied,denied,true,yes,2026-01-01T00:00:00Z\n"
            + "u1,GB,granted,unset,false,,2026-03-01T00:00:00Z\n"
            + "u1,CN,granted,granted,true,,2026-02-01T00:00:00Z\n"
            + "u2,US,granted,granted,false,,\n"
            + "u1,,granted,granted,false,yes,\n"
            + "u4,,granted,granted,false,,\n";
        var (inMemory, external) = BuildBoth(csv, runRows: 2, seed: 42);
        Assert.Equal(inMemory, external);

        using var snapshot = CompiledSnapshot.Open(_temp.File("external.snap"));
        Assert.True(snapshot.TryGetUser("u1"u8, out var u1));
        Assert.Equal(["FR", "GB", "US"], u1.HomeRegions);
        Assert.Equal(ConsentState.Denied, u1.States[0]);
        Assert.Equal(ConsentState.Unset, u1.States[1]);
        Assert.True(u1.Minor);
        Assert.False(u1.Gpc);
        Assert.Equal(1, snapshot.Info.Conflicts);
        Assert.Equal(10, snapshot.Info.Rows);
        Assert.Equal(4, snapshot.Info.Users);
    }

    [Fact]
    public void External_InvalidRowAfterSpilledRuns_PublishesNothingAndRemovesTemporaryFiles()
    {
        var csv = new StringBuilder("user_id,ai_training\n");
        for (var i = 0; i < 50; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"u{i},granted\n");
        }

        csv.Append("u50,maybe\n");
        var path = _temp.File("out.snap");
        var error = Assert.Throws<DataFileException>(() => CompiledSnapshotBuilder.BuildFromCsv(
            new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())), "c.csv", path, ["ai_training"], new SnapshotBuildOptions { RunRows = 4 }, default));
        Assert.Equal(52, error.Line);
        Assert.Empty(LeftoverFiles());
    }

    [Fact]
    public void External_Cancelled_PublishesNothingAndRemovesTemporaryFiles()
    {
        var path = _temp.File("out.snap");
        using var cancellation = new CancellationTokenSource();
        var rows = new GeneratedRows(200_000, cancelAt: 100_000, cancellation);
        Assert.ThrowsAny<OperationCanceledException>(() => CompiledSnapshotBuilder.BuildFromCsv(
            rows, "c.csv", path, ["ai_training"], new SnapshotBuildOptions { RunRows = 10_000 }, cancellation.Token));
        Assert.Empty(LeftoverFiles());
    }

    [Fact]
    public void External_ExistingOutputAndFailure_KeepsTheOldFile()
    {
        var path = _temp.Write("out.snap", "old");
        Assert.Throws<DataFileException>(() => CompiledSnapshotBuilder.BuildFromCsv(
            new MemoryStream("user_id,ai_training\nu1,granted\nu2,\n,granted\n"u8.ToArray()), "c.csv", path, ["ai_training"], new SnapshotBuildOptions { RunRows = 1 }, default));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["out.snap"], LeftoverFiles());
    }

    [Fact]
    public void External_MemoryBudgetBelowMinimum_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CompiledSnapshotBuilder.BuildFromCsv(
            new MemoryStream("user_id,ai_training\nu1,granted\n"u8.ToArray()), "c.csv", _temp.File("o.snap"), ["ai_training"],
            new SnapshotBuildOptions { MemoryBudget = 1 << 20 }, default));

    [Fact]
    public void SnapshotFilesOpen_CsvAboveTheThreshold_IsCompiledThroughATemporaryFileAndDecidesAsLoaded()
    {
        var csv = _temp.Write("consent.csv", RandomConsentCsv(new Random(5), 400));
        var loaded = ConsentSnapshot.LoadCsv(csv, ["ai_training"]);
        var tempBefore = Directory.GetDirectories(Path.GetTempPath(), "consentfilter-csv-*").Length;

        using var opened = Assert.IsType<CompiledSnapshot>(SnapshotFiles.Open(csv, ["ai_training"], compileThroughDiskBytes: 0), exactMatch: false);

        Assert.Equal(loaded.Info, opened.Info);
        foreach (var id in loaded.Users.Keys.Append("absent"u8.ToArray()))
        {
            Assert.Equal(loaded.TryGetUser(id, out var a), opened.TryGetUser(id, out var b));
            Assert.Equal(a.States[0], b.States[0]);
            Assert.Equal(a.Gpc, b.Gpc);
            Assert.Equal(a.Minor, b.Minor);
            Assert.Equal(a.HomeRegions ?? [], b.HomeRegions ?? []);
        }

        Assert.Equal(tempBefore, Directory.GetDirectories(Path.GetTempPath(), "consentfilter-csv-*").Length);
        Assert.Equal(["consent.csv"], LeftoverFiles());
    }

    private (byte[] InMemory, byte[] External) BuildBoth(string csv, int runRows, ulong seed)
    {
        var bytes = Encoding.UTF8.GetBytes(csv);
        var source = ConsentSnapshot.LoadCsv(new MemoryStream(bytes), "c.csv", s_purposes);
        var inMemoryPath = _temp.File("in-memory.snap");
        var externalPath = _temp.File("external.snap");
        var a = CompiledSnapshotBuilder.Build(source, inMemoryPath, null, seed);
        var b = CompiledSnapshotBuilder.BuildFromCsv(new MemoryStream(bytes), "c.csv", externalPath, s_purposes,
            new SnapshotBuildOptions { RunRows = runRows, Seed = seed }, default);
        Assert.Equal(a with { Path = b.Path }, b);
        return (File.ReadAllBytes(inMemoryPath), File.ReadAllBytes(externalPath));
    }

    /// <summary>Everything in the temporary directory, hidden files and directories included.</summary>
    private string[] LeftoverFiles() =>
        [.. Directory.EnumerateFileSystemEntries(_temp.Path, "*", new EnumerationOptions { AttributesToSkip = 0 }).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal)];

    private static string RandomConsentCsv(Random random, int rows)
    {
        var csv = new StringBuilder("user_id,region,ai_training,analytics,gpc,minor,updated_at\n");
        var distinct = Math.Max(1, rows / 3);
        for (var i = 0; i < rows; i++)
        {
            // Few distinct ids, so most users have several rows, spread over several runs.
            csv.Append(CultureInfo.InvariantCulture, $"u{random.Next(distinct)}").Append(',')
                .Append(s_regions[random.Next(s_regions.Length)]).Append(',')
                .Append(s_consent[random.Next(s_consent.Length)]).Append(',')
                .Append(s_consent[random.Next(s_consent.Length)]).Append(',')
                .Append(random.Next(4) == 0 ? "true" : "false").Append(',')
                .Append(random.Next(8) == 0 ? "yes" : "").Append(',')
                .Append(s_timestamps[random.Next(s_timestamps.Length)]).Append('\n');
        }

        return csv.ToString();
    }

    /// <summary>A consent CSV generated as it is read, cancelling the build after <c>cancelAt</c> rows.</summary>
    private sealed class GeneratedRows(int rows, int cancelAt, CancellationTokenSource cancellation) : Stream
    {
        private byte[] _pending = "user_id,ai_training\n"u8.ToArray();
        private int _offset;
        private int _row;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_offset == _pending.Length)
            {
                if (_row == rows)
                {
                    return 0;
                }

                if (_row == cancelAt)
                {
                    cancellation.Cancel();
                }

                _pending = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"u{_row++},granted\n"));
                _offset = 0;
            }

            var n = Math.Min(count, _pending.Length - _offset);
            _pending.AsSpan(_offset, n).CopyTo(buffer.AsSpan(offset));
            _offset += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
