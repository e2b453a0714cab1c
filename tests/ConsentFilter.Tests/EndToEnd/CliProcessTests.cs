using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>The real CLI as a separate process (<c>dotnet ConsentFilter.Cli.dll</c>) on real files (SPEC 4 and 5).</summary>
public sealed class CliProcessTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public CliProcessTests() => HandMadeCorpus.WriteTo(_dir);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Filter_HandMadeCorpus_ExitsZeroWithExpectedOutputsAndReport()
    {
        var result = await CliProcess.RunAsync(_dir.Path, HandMadeCorpus.FilterArgs(
            "--out", "out/kept.jsonl", "--report", "out/report.json", "--rejected", "out/rejected.jsonl", "--quarantine", "out/quarantine.jsonl"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(string.Empty, result.StdOut);
        Assert.Equal(string.Empty, result.StdErr);
        Assert.Equal(HandMadeCorpus.ExpectedKept(), File.ReadAllText(_dir.File("out/kept.jsonl")));

        using var report = JsonDocument.Parse(File.ReadAllBytes(_dir.File("out/report.json")));
        AssertHandMadeReport(report.RootElement, _dir, HandMadeCorpus.RecordsFile);

        var rejected = File.ReadAllLines(_dir.File("out/rejected.jsonl"));
        Assert.Equal(HandMadeCorpus.Dropped, rejected.Length);
        var all = string.Join('\n', rejected);
        Assert.DoesNotContain("mallory", all, StringComparison.Ordinal);
        Assert.DoesNotContain("dave", all, StringComparison.Ordinal);
        using (var r13 = JsonDocument.Parse(rejected.Single(l => l.Contains("\"r13\"", StringComparison.Ordinal))))
        {
            var entry = r13.RootElement;
            Assert.Equal(13, entry.GetProperty("line").GetInt64());
            Assert.Equal("no_opt_in", entry.GetProperty("reason").GetString());
            Assert.Equal(2, entry.GetProperty("subject_index").GetInt32());
            Assert.Equal(Sha256Hex("dave"), entry.GetProperty("user_sha256").GetString());
        }

        var quarantine = File.ReadAllLines(_dir.File("out/quarantine.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => $"{e.GetProperty("file").GetString()}:{e.GetProperty("line").GetInt64()}:{e.GetProperty("error").GetString()}");
        Assert.Equal(
            ["records.jsonl:16:invalid_json", "records.jsonl:17:not_object", "records.jsonl:18:missing_user_id", "records.jsonl:19:bad_user_id_type"],
            quarantine);
        Assert.DoesNotContain(_dir.FileNames(), n => n.EndsWith(".tmp", StringComparison.Ordinal));
        Assert.Empty(Directory.EnumerateFiles(_dir.File("out"), "*.tmp", new EnumerationOptions { AttributesToSkip = 0 }));
    }

    [Fact]
    public async Task Filter_WithoutReportFlag_PrintsTheReportToStandardOutput()
    {
        var result = await CliProcess.RunAsync(_dir.Path, HandMadeCorpus.FilterArgs("--out", "kept.jsonl"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(string.Empty, result.StdErr);
        using var report = JsonDocument.Parse(result.StdOut);
        AssertHandMadeReport(report.RootElement, _dir, HandMadeCorpus.RecordsFile);
        Assert.Equal(HandMadeCorpus.ExpectedKept(), File.ReadAllText(_dir.File("kept.jsonl")));
    }

    [Fact]
    public async Task Filter_OutDash_WritesKeptLinesToStandardOutputAndReportToStandardError()
    {
        var result = await CliProcess.RunAsync(_dir.Path, HandMadeCorpus.FilterArgs("--out", "-"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(HandMadeCorpus.ExpectedKept(), result.StdOut);
        using var report = JsonDocument.Parse(result.StdErr);
        AssertHandMadeReport(report.RootElement, _dir, HandMadeCorpus.RecordsFile);
    }

    [Fact]
    public async Task Filter_RecordsFromStandardInputToStandardOutput_FiltersLikeAFile()
    {
        string[] args = ["filter", "--records", "-", "--consent", HandMadeCorpus.ConsentFile, "--jurisdictions", HandMadeCorpus.JurisdictionsFile,
            "--subject-field", "recipients", "--out", "-", "--report", "report.json"];

        var result = await CliProcess.RunAsync(_dir.Path, args, stdin: HandMadeCorpus.RecordsText());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(HandMadeCorpus.ExpectedKept(), result.StdOut);
        using var report = JsonDocument.Parse(File.ReadAllBytes(_dir.File("report.json")));
        Assert.Equal("-", report.RootElement.GetProperty("inputs")[0].GetProperty("path").GetString());
        Assert.Equal(HandMadeCorpus.Kept, report.RootElement.GetProperty("kept").GetInt64());
    }

    [Fact]
    public async Task Filter_InvalidPurposeValueOnLine3_ExitsTwoWithOneLineNamingFileAndLineAndWritesNothing()
    {
        _dir.Write("bad-consent.csv", "user_id,region,ai_training\nalice,US,granted\nbob,US,maybe\ncarol,US,denied\n");
        var before = _dir.FileNames();

        var result = await CliProcess.RunAsync(_dir.Path,
            "filter", "--records", HandMadeCorpus.RecordsFile, "--consent", "bad-consent.csv", "--jurisdictions", HandMadeCorpus.JurisdictionsFile,
            "--out", "kept.jsonl", "--report", "report.json");

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("bad-consent.csv:3", line, StringComparison.Ordinal);
        Assert.Contains("maybe", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.StdOut);
        Assert.Equal(before, _dir.FileNames());
    }

    [Theory]
    [InlineData("code,regime\nUS,opt-out\nDE,opt-inn\n", "bad-table.csv:3", "opt-inn")]
    [InlineData("code,regime,note\nUS,opt-out\nDE,opt-in,GDPR\nFR\n", "bad-table.csv:4", "fields")]
    public async Task Filter_BadJurisdictionTable_ExitsTwoWithOneLineNamingFileAndLineAndWritesNothing(string table, string location, string problem)
    {
        _dir.Write("bad-table.csv", table);
        var before = _dir.FileNames();

        var result = await CliProcess.RunAsync(_dir.Path,
            "filter", "--records", HandMadeCorpus.RecordsFile, "--consent", HandMadeCorpus.ConsentFile, "--jurisdictions", "bad-table.csv",
            "--out", "kept.jsonl");

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains(location, line, StringComparison.Ordinal);
        Assert.Contains(problem, line, StringComparison.Ordinal);
        Assert.Equal(before, _dir.FileNames());
    }

    [Fact]
    public async Task Filter_UnknownFlag_ExitsTwoAndWritesNothing()
    {
        var before = _dir.FileNames();

        var result = await CliProcess.RunAsync(_dir.Path, HandMadeCorpus.FilterArgs("--out", "kept.jsonl", "--shuffle-everything"));

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("--shuffle-everything", line, StringComparison.Ordinal);
        Assert.Equal(before, _dir.FileNames());
    }

    [Fact]
    public async Task Filter_MissingRequiredConsentFlag_ExitsTwoAndWritesNothing()
    {
        var before = _dir.FileNames();

        var result = await CliProcess.RunAsync(_dir.Path, "filter", "--records", HandMadeCorpus.RecordsFile, "--out", "kept.jsonl");

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("--consent", line, StringComparison.Ordinal);
        Assert.Equal(before, _dir.FileNames());
    }

    [Fact]
    public async Task Filter_SecondInputLockedByAnotherProcess_ExitsOneAndCommitsNothing()
    {
        // Many kept lines in the first input, so the temporary output holds real bytes when the second input fails to open.
        _dir.Write("big.jsonl", string.Concat(Enumerable.Range(0, 60_000).Select(i => $"{{\"id\":\"b{i}\",\"user_id\":\"alice\"}}\n")));
        _dir.Write("locked.jsonl", "{\"user_id\":\"alice\"}\n");
        _dir.Write("kept.jsonl", "an older output\n");
        var before = _dir.FileNames();

        // FileShare.None takes an exclusive lock (flock on Unix), so the CLI's open for reading fails mid-run.
        CliResult result;
        using (new FileStream(_dir.File("locked.jsonl"), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            result = await CliProcess.RunAsync(_dir.Path,
                "filter", "--records", "big.jsonl", "locked.jsonl", "--consent", HandMadeCorpus.ConsentFile,
                "--jurisdictions", HandMadeCorpus.JurisdictionsFile, "--out", "kept.jsonl", "--report", "report.json",
                "--rejected", "rejected.jsonl", "--quarantine", "quarantine.jsonl");
        }

        AssertFailedRunCommittedNothing(result, before);
    }

    [LinuxFact]
    public async Task Filter_SecondInputFailsWhileBeingRead_ExitsOneAndCommitsNothing()
    {
        // /proc/self/mem exists and opens, but reading offset 0 of the CLI's own address space fails with EIO.
        _dir.Write("big.jsonl", string.Concat(Enumerable.Range(0, 60_000).Select(i => $"{{\"id\":\"b{i}\",\"user_id\":\"alice\"}}\n")));
        _dir.Write("kept.jsonl", "an older output\n");
        var before = _dir.FileNames();

        var result = await CliProcess.RunAsync(_dir.Path,
            "filter", "--records", "big.jsonl", "/proc/self/mem", "--consent", HandMadeCorpus.ConsentFile,
            "--jurisdictions", HandMadeCorpus.JurisdictionsFile, "--out", "kept.jsonl", "--report", "report.json");

        AssertFailedRunCommittedNothing(result, before);
    }

    [Theory]
    [InlineData("bob", null, "decision: dropped: gpc_opt_out", "7. opt-out regime, consent unset and GPC signal")]
    [InlineData("alice", "AU", "decision: dropped: region_excluded", "4. regime excluded")]
    [InlineData("judy", null, "decision: allowed (regime opt-in, table code 'FR')", "home region 'FR'")]
    [InlineData("mallory", null, "decision: dropped: unknown_user", "1. user not in the snapshot")]
    public async Task Explain_User_PrintsEveryStepAndTheDecision(string user, string? region, string decision, string step)
    {
        string[] args = ["explain", "--consent", HandMadeCorpus.ConsentFile, "--jurisdictions", HandMadeCorpus.JurisdictionsFile, "--user", user,
            .. region is null ? Array.Empty<string>() : ["--region", region]];

        var result = await CliProcess.RunAsync(_dir.Path, args);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StdOut.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith(decision, lines[^1], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains(step, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("1. ", StringComparison.Ordinal));
        Assert.Equal(string.Empty, result.StdErr);
    }

    /// <summary>Checks a report of the hand-made corpus against the hand-computed counts and the SPEC 4 member names.</summary>
    internal static void AssertHandMadeReport(JsonElement report, TempDirectory dir, string recordsPath)
    {
        Assert.Equal("consentfilter.report/v1", report.GetProperty("schema").GetString());
        Assert.True(report.GetProperty("complete").GetBoolean());
        Assert.Equal("ai_training", report.GetProperty("purpose").GetString());
        Assert.Equal(HandMadeCorpus.Records, report.GetProperty("records").GetInt64());
        Assert.Equal(HandMadeCorpus.Kept, report.GetProperty("kept").GetInt64());

        var dropped = report.GetProperty("dropped");
        Assert.Equal(HandMadeCorpus.Dropped, dropped.GetProperty("total").GetInt64());
        foreach (var (reason, count) in HandMadeCorpus.DroppedByReason)
        {
            Assert.True(count == dropped.GetProperty("by_reason").GetProperty(reason).GetInt64(), reason);
        }

        var quarantined = report.GetProperty("quarantined");
        Assert.Equal(HandMadeCorpus.Quarantined, quarantined.GetProperty("total").GetInt64());
        var byError = quarantined.GetProperty("by_error");
        foreach (var (error, count) in HandMadeCorpus.QuarantinedByError)
        {
            Assert.True(count == byError.GetProperty(error).GetInt64(), error);
        }

        Assert.Equal(HandMadeCorpus.Quarantined, byError.EnumerateObject().Sum(e => e.Value.GetInt64()));
        Assert.Equal(
            HandMadeCorpus.ByRegion.Select(r => $"{r.Code} {r.Kept}/{r.Dropped}"),
            report.GetProperty("by_region").EnumerateObject()
                .Where(r => r.Value.GetProperty("kept").GetInt64() + r.Value.GetProperty("dropped").GetInt64() > 0)
                .OrderBy(r => r.Name, StringComparer.Ordinal)
                .Select(r => $"{r.Name} {r.Value.GetProperty("kept").GetInt64()}/{r.Value.GetProperty("dropped").GetInt64()}"));

        var input = Assert.Single(report.GetProperty("inputs").EnumerateArray());
        Assert.Equal(recordsPath, input.GetProperty("path").GetString());
        Assert.Equal(HandMadeCorpus.Records, input.GetProperty("records").GetInt64());
        Assert.Equal(Encoding.UTF8.GetByteCount(HandMadeCorpus.RecordsText()), input.GetProperty("bytes").GetInt64());

        var snapshot = report.GetProperty("snapshot");
        Assert.Equal(Sha256Hex(File.ReadAllBytes(dir.File(HandMadeCorpus.ConsentFile))), snapshot.GetProperty("sha256").GetString());
        Assert.Equal(11, snapshot.GetProperty("users").GetInt64());
        Assert.Equal(14, snapshot.GetProperty("rows").GetInt64());
        Assert.Equal(1, snapshot.GetProperty("conflicts").GetInt64());

        var jurisdictions = report.GetProperty("jurisdictions");
        Assert.Equal(Sha256Hex(File.ReadAllBytes(dir.File(HandMadeCorpus.JurisdictionsFile))), jurisdictions.GetProperty("sha256").GetString());
        Assert.False(jurisdictions.GetProperty("builtin").GetBoolean());

        Assert.True(report.GetProperty("elapsed_seconds").GetDouble() >= 0);
        Assert.True(report.GetProperty("records_per_second").GetDouble() >= 0);
    }

    private void AssertFailedRunCommittedNothing(CliResult result, string[] filesBefore)
    {
        Assert.True(result.ExitCode == 1, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("nothing was committed", line, StringComparison.Ordinal);
        Assert.Equal(filesBefore, _dir.FileNames());
        Assert.Equal("an older output\n", File.ReadAllText(_dir.File("kept.jsonl")));
    }

    private static string Sha256Hex(string text) => Sha256Hex(Encoding.UTF8.GetBytes(text));

    private static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
