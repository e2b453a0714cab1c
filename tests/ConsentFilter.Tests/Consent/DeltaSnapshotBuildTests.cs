using System.Globalization;
using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Consent;

/// <summary>
/// Daily deltas: a snapshot with merge state plus changed rows (<see cref="SnapshotBuildOptions.Base"/>) is the full build of
/// the base's rows followed by the changes: same decisions, same bytes but for the source SHA-256; bases that cannot be
/// used are refused.
/// </summary>
public sealed class DeltaSnapshotBuildTests : IDisposable
{
    private const string Header = "user_id,region,ai_training,analytics,gpc,minor,updated_at\n";
    private static readonly string[] s_regions = ["", "DE", "us", "US-CA", "CN", " fr "];
    private static readonly string[] s_consent = ["granted", "denied", "", "unset", "YES", "opt_out"];

    // Few distinct times, so the latest dated rows often tie (same-timestamp conflicts) or one part's rows replace another's.
    private static readonly string[] s_timestamps = ["", "", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-01", "2026-02-01T01:00:00+01:00", "2026-03-01T00:00:00Z"];
    private static readonly string[] s_purposes = ["ai_training", "analytics"];

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>
    /// Rows split in three parts (base, first delta, second delta; any part may be empty), so users are only in the base,
    /// only in a delta, or in several; dated and undated rows, ties on the latest time; runs of a few rows.
    /// </summary>
    [Property(MaxTest = 100)]
    public Property BaseThenDeltas_EqualsFullBuildOfAllRows() => Prop.ForAll(
        Gen.Choose(0, 1_000_000).SelectMany(seed => Gen.Choose(0, 90).SelectMany(rows => Gen.Choose(1, 7).Select(run => (seed, rows, run)))).ToArbitrary(),
        ((int Seed, int Rows, int RunRows) input) =>
        {
            var random = new Random(input.Seed);
            var lines = RandomRows(random, input.Rows);
            var cut1 = random.Next(lines.Length + 1);
            var cut2 = random.Next(cut1, lines.Length + 1);
            var seed = (ulong)input.Seed * 7919;

            var full = Build("full.snap", lines, new SnapshotBuildOptions { Seed = seed, RunRows = input.RunRows, KeepMergeState = true });
            Build("base.snap", lines[..cut1], new SnapshotBuildOptions { Seed = seed, RunRows = input.RunRows, KeepMergeState = true });
            Build("delta1.snap", lines[cut1..cut2], new SnapshotBuildOptions { Base = _temp.File("base.snap"), RunRows = input.RunRows });
            var delta = Build("delta2.snap", lines[cut2..], new SnapshotBuildOptions { Base = _temp.File("delta1.snap"), RunRows = input.RunRows });

            AssertSameExceptSourceSha(full, delta);
            AssertSameAsPlainBuild(lines, full, seed);
            AssertDecidesAsLoaded(lines, _temp.File("delta2.snap"));
            return LeftoverFiles().Length == 5;
        });

    [Fact]
    public void Delta_LaterDatedRowReplacesTheBaseDatedRowsButUndatedRowsStillCount()
    {
        Build("base.snap", ["u1,DE,granted,granted,,,2026-01-01T00:00:00Z", "u1,FR,denied,granted,,,", "u2,US,granted,granted,,,2026-01-01T00:00:00Z"],
            new SnapshotBuildOptions { KeepMergeState = true });
        Build("new.snap", ["u1,GB,granted,denied,,,2026-02-01T00:00:00Z", "u2,US,denied,granted,,,2025-01-01T00:00:00Z", "u3,,granted,granted,,,"],
            new SnapshotBuildOptions { Base = _temp.File("base.snap") });

        using var snapshot = CompiledSnapshot.Open(_temp.File("new.snap"));
        Assert.True(snapshot.TryGetUser("u1"u8, out var u1));
        Assert.Equal(["GB", "FR"], u1.HomeRegions);
        Assert.Equal(ConsentState.Denied, u1.States[0]); // the base's undated denial still counts
        Assert.Equal(ConsentState.Denied, u1.States[1]);
        Assert.True(snapshot.TryGetUser("u2"u8, out var u2));
        Assert.Equal(ConsentState.Granted, u2.States[0]); // an older change does not replace the base's latest row
        Assert.True(snapshot.TryGetUser("u3"u8, out _));
        Assert.Equal(6, snapshot.Info.Rows);
        Assert.Equal(3, snapshot.Info.Users);
        Assert.Equal(1, snapshot.Info.Conflicts);
        Assert.Equal(new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero), snapshot.Info.AsOf);
        Assert.Equal(2u, snapshot.Version);
        Assert.True(snapshot.HasMergeState);
    }

    [Fact]
    public void Delta_BaseWithoutMergeState_IsRefusedAndNothingIsPublished()
    {
        Build("base.snap", ["u1,DE,granted,granted,,,"], new SnapshotBuildOptions());
        using (var plain = CompiledSnapshot.Open(_temp.File("base.snap")))
        {
            Assert.Equal(1u, plain.Version);
            Assert.False(plain.HasMergeState);
        }

        var error = Assert.Throws<DataFileException>(() => Build("new.snap", ["u2,DE,granted,granted,,,"], new SnapshotBuildOptions { Base = _temp.File("base.snap") }));
        Assert.Contains("no merge state", error.Message, StringComparison.Ordinal);
        Assert.Equal(["base.snap", "c.csv"], LeftoverFiles());
    }

    [Fact]
    public void Delta_OtherPurposesOrHashKey_AreRefused()
    {
        Build("base.snap", ["u1,DE,granted,granted,,,"], new SnapshotBuildOptions { KeepMergeState = true, Seed = 1 });
        var purposes = Assert.Throws<DataFileException>(() => CompiledSnapshotBuilder.BuildFromCsv(
            Csv(["u2,DE,granted,granted,,,"]), "c.csv", _temp.File("new.snap"), ["ai_training"], new SnapshotBuildOptions { Base = _temp.File("base.snap") }, default));
        Assert.Contains("purposes ai_training, analytics", purposes.Message, StringComparison.Ordinal);
        var key = Assert.Throws<DataFileException>(() => Build("new.snap", ["u2,DE,granted,granted,,,"], new SnapshotBuildOptions { Base = _temp.File("base.snap"), Seed = 2 }));
        Assert.Contains("hash key", key.Message, StringComparison.Ordinal);
        Assert.Equal(["base.snap", "c.csv"], LeftoverFiles());
    }

    [Fact]
    public void Delta_InvalidChangedRow_NamesTheLineAndKeepsTheOldOutput()
    {
        Build("base.snap", ["u1,DE,granted,granted,,,"], new SnapshotBuildOptions { KeepMergeState = true });
        var output = _temp.Write("new.snap", "old");
        var error = Assert.Throws<DataFileException>(() => Build("new.snap", ["u2,DE,granted,granted,,,", "u3,DE,maybe,granted,,,"],
            new SnapshotBuildOptions { Base = _temp.File("base.snap"), RunRows = 1 }));
        Assert.Equal(3, error.Line);
        Assert.Equal("old", File.ReadAllText(output));
        Assert.Equal(["base.snap", "c.csv", "new.snap"], LeftoverFiles());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Delta_CorruptBase_IsRefusedAndNothingIsPublished(bool inMergeState)
    {
        var lines = RandomRows(new Random(3), 60);
        Build("base.snap", lines, new SnapshotBuildOptions { KeepMergeState = true });
        var bytes = File.ReadAllBytes(_temp.File("base.snap"));
        // A consent bit of the last state's undated group, or of the first entry.
        bytes[inMergeState ? bytes.Length - 8 : (int)BitConverter.ToInt64(bytes, 112) + 12] ^= 0x02;
        File.WriteAllBytes(_temp.File("base.snap"), bytes);

        Assert.Throws<DataFileException>(() => Build("new.snap", ["u2,DE,granted,granted,,,"], new SnapshotBuildOptions { Base = _temp.File("base.snap") }));
        Assert.Equal(["base.snap", "c.csv"], LeftoverFiles());
    }

    [Fact]
    public void Delta_Cancelled_PublishesNothingAndRemovesTemporaryFiles()
    {
        Build("base.snap", RandomRows(new Random(4), 200), new SnapshotBuildOptions { KeepMergeState = true });
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => CompiledSnapshotBuilder.BuildFromCsv(Csv(RandomRows(new Random(5), 100)), "c.csv", _temp.File("new.snap"), s_purposes,
            new SnapshotBuildOptions { Base = _temp.File("base.snap"), RunRows = 7 }, cancellation.Token));
        Assert.Equal(["base.snap", "c.csv"], LeftoverFiles());
    }

    [Fact]
    public void Delta_OutputIsTheBase_ReplacesItAtomically()
    {
        Build("base.snap", ["u1,DE,granted,granted,,,"], new SnapshotBuildOptions { KeepMergeState = true });
        Build("base.snap", ["u1,DE,denied,granted,,,2026-01-01"], new SnapshotBuildOptions { Base = _temp.File("base.snap") });
        using var snapshot = CompiledSnapshot.Open(_temp.File("base.snap"));
        Assert.True(snapshot.TryGetUser("u1"u8, out var u1));
        Assert.Equal(ConsentState.Denied, u1.States[0]);
        Assert.Equal(2, snapshot.Info.Rows);
    }

    private CompiledSnapshotSummary Build(string name, string[] lines, SnapshotBuildOptions options)
    {
        // The CSV is written to a file (c.csv) first, so leftovers are checked against a known set of names.
        File.WriteAllText(_temp.File("c.csv"), Header + string.Concat(lines.Select(l => l + "\n")));
        return CompiledSnapshotBuilder.BuildFromCsv(_temp.File("c.csv"), _temp.File(name), s_purposes, options);
    }

    private static MemoryStream Csv(string[] lines) => new(Encoding.UTF8.GetBytes(Header + string.Concat(lines.Select(l => l + "\n"))));

    private void AssertSameExceptSourceSha(CompiledSnapshotSummary full, CompiledSnapshotSummary delta)
    {
        Assert.Equal(full with { Path = delta.Path }, delta);
        var a = File.ReadAllBytes(full.Path);
        var b = File.ReadAllBytes(delta.Path);
        Assert.Equal(a.Length, b.Length);
        Assert.True(a.AsSpan(0, 64).SequenceEqual(b.AsSpan(0, 64)), "header before the source SHA-256");
        Assert.True(a.AsSpan(96, 24).SequenceEqual(b.AsSpan(96, 24)), "header after the source SHA-256");
        Assert.True(a.AsSpan(128).SequenceEqual(b.AsSpan(128)), "metadata, entries and merge states");
    }

    /// <summary>The entries, region sets and counts are those of the ordinary in-memory build (version 1) of the same rows.</summary>
    private void AssertSameAsPlainBuild(string[] lines, CompiledSnapshotSummary full, ulong seed)
    {
        var loaded = ConsentSnapshot.LoadCsv(Csv(lines), "c.csv", s_purposes);
        var plainPath = _temp.File("plain.snap");
        CompiledSnapshotBuilder.Build(loaded, plainPath, null, seed);
        var plain = File.ReadAllBytes(plainPath);
        File.Delete(plainPath);
        var mergeable = File.ReadAllBytes(full.Path);
        Assert.True(plain.AsSpan(16, 48).SequenceEqual(mergeable.AsSpan(16, 48)), "users, rows, conflicts, collisions, as-of, key");
        var plainMetaLength = BitConverter.ToInt32(plain, 104);
        Assert.True(plain.AsSpan(128, plainMetaLength).SequenceEqual(mergeable.AsSpan(128, plainMetaLength)), "purposes and region sets");
        var plainEntries = BitConverter.ToInt64(plain, 112);
        var entries = BitConverter.ToInt64(mergeable, 112);
        Assert.True(plain.AsSpan((int)plainEntries).SequenceEqual(mergeable.AsSpan((int)entries, plain.Length - (int)plainEntries)), "entries");
    }

    private static void AssertDecidesAsLoaded(string[] lines, string path)
    {
        var loaded = ConsentSnapshot.LoadCsv(Csv(lines), "c.csv", s_purposes);
        using var snapshot = CompiledSnapshot.Open(path);
        Assert.Equal(loaded.Info.Users, snapshot.Info.Users);
        foreach (var id in loaded.Users.Keys.Append("absent"u8.ToArray()))
        {
            Assert.Equal(loaded.TryGetUser(id, out var a), snapshot.TryGetUser(id, out var b));
            Assert.Equal(a.States[0], b.States[0]);
            Assert.Equal(a.States[1], b.States[1]);
            Assert.Equal(a.Gpc, b.Gpc);
            Assert.Equal(a.Minor, b.Minor);
            Assert.Equal(a.HomeRegions ?? [], b.HomeRegions ?? []);
        }
    }

    private string[] LeftoverFiles() =>
        [.. Directory.EnumerateFileSystemEntries(_temp.Path, "*", new EnumerationOptions { AttributesToSkip = 0 }).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal)];

    private static string[] RandomRows(Random random, int rows)
    {
        var distinct = Math.Max(1, rows / 3);
        var result = new string[rows];
        for (var i = 0; i < rows; i++)
        {
            result[i] = string.Create(CultureInfo.InvariantCulture, $"u{random.Next(distinct)}") + ","
                + s_regions[random.Next(s_regions.Length)] + ","
                + s_consent[random.Next(s_consent.Length)] + ","
                + s_consent[random.Next(s_consent.Length)] + ","
                + (random.Next(4) == 0 ? "true" : "false") + ","
                + (random.Next(8) == 0 ? "yes" : "") + ","
                + s_timestamps[random.Next(s_timestamps.Length)];
        }

        return result;
    }
}
