using System.Text.Json;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>The CLI through <see cref="Cli.ConsoleApp.RunAsync"/> in this process: the same parsing and exit codes, without a process start.</summary>
public sealed class CliInProcessTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public CliInProcessTests() => HandMadeCorpus.WriteTo(_dir);

    public void Dispose() => _dir.Dispose();

    private string Records => _dir.File(HandMadeCorpus.RecordsFile);

    private string Consent => _dir.File(HandMadeCorpus.ConsentFile);

    private string Table => _dir.File(HandMadeCorpus.JurisdictionsFile);

    private string Out => _dir.File("kept.jsonl");

    [Fact]
    public async Task Filter_HandMadeCorpus_PrintsTheHandComputedReport()
    {
        var result = await CliProcess.RunInProcessAsync(
            "filter", "--records", Records, "--consent", Consent, "--jurisdictions", Table, "--subject-field", "recipients", "--out", Out, "--threads", "3");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var report = JsonDocument.Parse(result.StdOut);
        CliProcessTests.AssertHandMadeReport(report.RootElement, _dir, Records);
        Assert.Equal(HandMadeCorpus.ExpectedKept(), File.ReadAllText(Out));
    }

    [Theory]
    [InlineData("--records")]
    [InlineData("--consent")]
    [InlineData("--out")]
    public async Task Filter_MissingRequiredFlag_ExitsTwoWithOneLineAndWritesNothing(string missing)
    {
        var args = new List<string> { "filter", "--records", Records, "--consent", Consent, "--out", Out };
        var at = args.IndexOf(missing);
        args.RemoveRange(at, 2);
        var before = _dir.FileNames();

        var result = await CliProcess.RunInProcessAsync([.. args]);

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains(missing, line, StringComparison.Ordinal);
        Assert.Equal(before, _dir.FileNames());
    }

    [Theory]
    [InlineData("--threads", "0", "MaxDegreeOfParallelism")]
    [InlineData("--max-line-length", "0", "MaxLineLength")]
    [InlineData("--unknown-users", "maybe", "maybe")]
    [InlineData("--max-snapshot-age", "soon", "soon")]
    public async Task Filter_InvalidOptionValue_ExitsTwoWithOneLineAndWritesNothing(string flag, string value, string mentioned)
    {
        var before = _dir.FileNames();

        var result = await CliProcess.RunInProcessAsync("filter", "--records", Records, "--consent", Consent, "--out", Out, flag, value);

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains(mentioned, line, StringComparison.Ordinal);
        Assert.Equal(before, _dir.FileNames());
    }

    [Fact]
    public async Task Filter_InvalidPurposeValueSpanningTwoLines_StillReportsOneLineNamingFileAndLine()
    {
        // A quoted CSV field may hold a newline (RFC 4180); the echoed bad value must not break the one-line rule.
        var csv = _dir.Write("multiline.csv", "user_id,region,ai_training\nalice,US,granted\nbob,US,\"may\nbe\"\n");

        var result = await CliProcess.RunInProcessAsync("filter", "--records", Records, "--consent", csv, "--out", Out);

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("multiline.csv:3", line, StringComparison.Ordinal);
        Assert.False(File.Exists(Out));
    }

    [Fact]
    public async Task Filter_RecordsFileMissing_ExitsTwoNamingIt()
    {
        var missing = _dir.File("nope.jsonl");

        var result = await CliProcess.RunInProcessAsync("filter", "--records", missing, "--consent", Consent, "--out", Out);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(missing, Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.False(File.Exists(Out));
    }

    [Fact]
    public async Task Filter_ConsentPathIsADirectory_ExitsTwoNamingIt()
    {
        var directory = Directory.CreateDirectory(_dir.File("consent-dir")).FullName;

        var result = await CliProcess.RunInProcessAsync("filter", "--records", Records, "--consent", directory, "--out", Out);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(directory, Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.False(File.Exists(Out));
    }

    [Fact]
    public async Task Filter_OutputIsAnInput_ExitsTwoAndLeavesTheInputAlone()
    {
        var result = await CliProcess.RunInProcessAsync("filter", "--records", Records, "--consent", Consent, "--out", Records);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Single(result.StdErrLines);
        Assert.Equal(HandMadeCorpus.RecordsText(), File.ReadAllText(Records));
    }

    [Fact]
    public async Task Filter_MissingPurposeColumn_ExitsTwoNamingTheFile()
    {
        var result = await CliProcess.RunInProcessAsync("filter", "--records", Records, "--consent", Consent, "--purpose", "ads", "--out", Out);

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains(Consent, line, StringComparison.Ordinal);
        Assert.Contains("ads", line, StringComparison.Ordinal);
        Assert.False(File.Exists(Out));
    }

    [Theory]
    [InlineData("granted", "true", "US", "decision: allowed")]
    [InlineData("unset", "true", "US", "decision: dropped: gpc_opt_out")]
    [InlineData("unset", "false", "US", "decision: allowed")]
    [InlineData("denied", "false", "US", "decision: dropped: opted_out")]
    [InlineData("unset", "false", "DE", "decision: dropped: no_opt_in")]
    [InlineData("granted", "false", "", "decision: dropped: region_excluded")]
    public async Task Explain_ConsentGpcAndRegion_PrintsTheSpecDecision(string consent, string gpc, string region, string decision)
    {
        var csv = _dir.Write("one.csv", $"user_id,region,ai_training,gpc\nzoe,{region},{consent},{gpc}\n");

        var result = await CliProcess.RunInProcessAsync("explain", "--consent", csv, "--jurisdictions", Table, "--user", "zoe");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StdOut.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith(decision, lines[^1], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("1. user found", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Explain_UnknownFlag_ExitsTwo()
    {
        var result = await CliProcess.RunInProcessAsync("explain", "--consent", Consent, "--user", "alice", "--verbose-please");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Single(result.StdErrLines);
    }
}
