using System.Globalization;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Reliability;

/// <summary>
/// SPEC 2.2: <c>--max-snapshot-age</c> refuses a snapshot older than allowed (exit 2, one line, nothing written) and
/// accepts a fresh one, for the CSV and the compiled form alike, since a stale snapshot silently ignores recent opt-outs.
/// </summary>
public sealed class StaleSnapshotGuardTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public StaleSnapshotGuardTests()
    {
        _dir.Write("records.jsonl", "{\"user_id\":\"alice\"}\n");
        _dir.Write("old.csv", Consent(DateTimeOffset.UtcNow.AddDays(-40)));
        _dir.Write("fresh.csv", Consent(DateTimeOffset.UtcNow.AddHours(-2)));
        _dir.Write("undated.csv", "user_id,region,ai_training\nalice,US,granted\n");
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("old.csv", false, "30d", 2)]
    [InlineData("old.csv", true, "30d", 2)]
    [InlineData("fresh.csv", false, "1d", 0)]
    [InlineData("fresh.csv", true, "1d", 0)]
    [InlineData("fresh.csv", false, "1h", 2)]
    [InlineData("fresh.csv", true, "1h", 2)]
    [InlineData("old.csv", false, "41.00:00:00", 0)]
    [InlineData("old.csv", true, null, 0)]
    [InlineData("undated.csv", false, "3650d", 2)]
    [InlineData("undated.csv", true, "3650d", 2)]
    public async Task Filter_MaxSnapshotAge_RefusesOlderSnapshotsInBothForms(string csv, bool compiled, string? maxAge, int exitCode)
    {
        var consent = compiled ? await CompileAsync(csv) : _dir.File(csv);
        var kept = _dir.File("out/kept.jsonl");
        string[] args = ["filter", "--records", _dir.File("records.jsonl"), "--consent", consent, "--out", kept, "--report", _dir.File("out/report.json")];

        var result = await CliProcess.RunInProcessAsync(maxAge is null ? args : [.. args, "--max-snapshot-age", maxAge]);

        Assert.True(result.ExitCode == exitCode, result.ToString());
        if (exitCode == 0)
        {
            Assert.Equal("{\"user_id\":\"alice\"}\n", File.ReadAllText(kept));
            return;
        }

        var line = Assert.Single(result.StdErrLines);
        Assert.StartsWith($"consentfilter: error: {consent}: the snapshot ", line, StringComparison.Ordinal);
        Assert.Contains(csv == "undated.csv" ? "no as-of time" : "older than the maximum age", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("out")) && Directory.EnumerateFileSystemEntries(_dir.File("out")).Any(), "nothing is written");
    }

    [Fact]
    public async Task Filter_CompiledWithAnOldAsOf_IsRefusedEvenIfItsRowsAreRecent()
    {
        var snapshot = _dir.File("fresh-rows-old-as-of.snap");
        var asOf = DateTimeOffset.UtcNow.AddDays(-10).ToString("O", CultureInfo.InvariantCulture);
        var build = await CliProcess.RunInProcessAsync("snapshot", "build", "--consent", _dir.File("fresh.csv"), "--out", snapshot, "--as-of", asOf);
        Assert.True(build.ExitCode == 0, build.ToString());

        var result = await CliProcess.RunInProcessAsync(
            "filter", "--records", _dir.File("records.jsonl"), "--consent", snapshot, "--out", _dir.File("kept.jsonl"), "--max-snapshot-age", "7d");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("older than the maximum age", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("kept.jsonl")));
    }

    private static string Consent(DateTimeOffset updatedAt) =>
        $"user_id,region,ai_training,updated_at\nalice,US,granted,{updatedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}\n";

    private async Task<string> CompileAsync(string csv)
    {
        var snapshot = _dir.File(Path.ChangeExtension(csv, ".snap"));
        var build = await CliProcess.RunInProcessAsync("snapshot", "build", "--consent", _dir.File(csv), "--out", snapshot);
        Assert.True(build.ExitCode == 0, build.ToString());
        return snapshot;
    }
}
