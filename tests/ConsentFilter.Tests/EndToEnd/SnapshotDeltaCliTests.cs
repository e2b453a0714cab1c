using ConsentFilter.Consent;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary><c>snapshot build --base --changes</c> and <c>--mergeable</c> through the real CLI: results, exit codes, one-line refusals.</summary>
public sealed class SnapshotDeltaCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public SnapshotDeltaCliTests()
    {
        _dir.Write("consent.csv", "user_id,region,ai_training,gpc,updated_at\nu1,DE,granted,,2026-01-01T00:00:00Z\nu2,US,,true,\nu3,US,granted,,2026-01-01T00:00:00Z\n");
        _dir.Write("changes.csv", "user_id,region,ai_training,gpc,updated_at\nu1,DE,denied,,2026-02-01T00:00:00Z\nu4,FR,granted,,2026-02-01T00:00:00Z\n");
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Build_MergeableThenBaseAndChanges_AppliesTheChangesAsAFullBuildWould()
    {
        var base_ = await CliProcess.RunAsync(_dir.Path, "snapshot", "build", "--consent", "consent.csv", "--mergeable", "--out", "base.snap");
        Assert.True(base_.ExitCode == 0, base_.ToString());

        var delta = await CliProcess.RunAsync(_dir.Path, "snapshot", "build", "--base", "base.snap", "--changes", "changes.csv", "--out", "new.snap");
        Assert.True(delta.ExitCode == 0, delta.ToString());
        Assert.Contains("4 users, 5 rows, 0 conflicts", delta.StdOut, StringComparison.Ordinal);

        var info = await CliProcess.RunAsync(_dir.Path, "snapshot", "info", "new.snap");
        Assert.Contains("format version: 2", info.StdOut, StringComparison.Ordinal);
        Assert.Contains("merge state: yes", info.StdOut, StringComparison.Ordinal);

        _dir.Write("all.csv", File.ReadAllText(_dir.File("consent.csv")) + string.Concat(File.ReadAllLines(_dir.File("changes.csv")).Skip(1).Select(l => l + "\n")));
        var loaded = ConsentSnapshot.LoadCsv(_dir.File("all.csv"), ["ai_training"]);
        using var built = CompiledSnapshot.Open(_dir.File("new.snap"));
        foreach (var id in new[] { "u1"u8.ToArray(), "u2"u8.ToArray(), "u3"u8.ToArray(), "u4"u8.ToArray(), "u5"u8.ToArray() })
        {
            Assert.Equal(loaded.TryGetUser(id, out var a), built.TryGetUser(id, out var b));
            Assert.Equal(a.States[0], b.States[0]);
            Assert.Equal(a.Gpc, b.Gpc);
            Assert.Equal(a.HomeRegions ?? [], b.HomeRegions ?? []);
        }
    }

    [Fact]
    public async Task Build_BaseWithoutMergeState_ExitsTwoNamingTheFix()
    {
        Assert.Equal(0, (await CliProcess.RunInProcessAsync("snapshot", "build", "--consent", _dir.File("consent.csv"), "--out", _dir.File("plain.snap"))).ExitCode);

        var result = await CliProcess.RunInProcessAsync("snapshot", "build", "--base", _dir.File("plain.snap"), "--changes", _dir.File("changes.csv"), "--out", _dir.File("new.snap"));

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("plain.snap: cannot be the base of a delta build: it holds no merge state (format version 1); build it once with --mergeable", line, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("new.snap")));
    }

    [Fact]
    public async Task Build_InvalidChangedRow_ExitsTwoNamingFileAndLine()
    {
        Assert.Equal(0, (await CliProcess.RunInProcessAsync("snapshot", "build", "--consent", _dir.File("consent.csv"), "--mergeable", "--out", _dir.File("base.snap"))).ExitCode);
        _dir.Write("bad.csv", "user_id,region,ai_training,gpc,updated_at\nu1,DE,denied,,\nu2,DE,maybe,,\n");

        var result = await CliProcess.RunInProcessAsync("snapshot", "build", "--base", _dir.File("base.snap"), "--changes", _dir.File("bad.csv"), "--out", _dir.File("new.snap"));

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(_dir.File("bad.csv") + ":3:3: invalid consent value 'maybe'", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("new.snap")));
        Assert.Equal(["bad.csv", "base.snap", "changes.csv", "consent.csv"], _dir.FileNames());
    }

    [Theory]
    [InlineData("--purpose analytics", "cannot be the base of this build: it holds purposes ai_training, the build is for analytics")]
    [InlineData("--consent consent.csv", "--base: give the changed rows with one of --changes CSV")]
    [InlineData("--no-changes", "--base: give the changed rows with one of --changes CSV")]
    [InlineData("--no-base", "--changes needs --base SNAPSHOT")]
    [InlineData("--base-is-csv", "not a compiled consent snapshot")]
    public async Task Build_DeltaMisuse_ExitsTwoWithOneLine(string variant, string expected)
    {
        Assert.Equal(0, (await CliProcess.RunInProcessAsync("snapshot", "build", "--consent", _dir.File("consent.csv"), "--mergeable", "--out", _dir.File("base.snap"))).ExitCode);
        var args = new List<string> { "snapshot", "build", "--base", _dir.File(variant == "--base-is-csv" ? "consent.csv" : "base.snap"), "--changes", _dir.File("changes.csv"), "--out", _dir.File("new.snap") };
        switch (variant)
        {
            case "--no-changes":
                args.RemoveRange(4, 2);
                break;
            case "--no-base":
                args.RemoveRange(2, 2);
                break;
            case "--purpose analytics":
                args.AddRange(["--purpose", "analytics"]);
                break;
            case "--consent consent.csv":
                args.AddRange(["--consent", _dir.File("consent.csv")]);
                break;
        }

        var result = await CliProcess.RunInProcessAsync([.. args]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("new.snap")));
    }
}
