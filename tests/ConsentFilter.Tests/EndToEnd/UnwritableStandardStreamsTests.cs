using System.Diagnostics;
using System.Text;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>
/// The real CLI with a standard output or error it cannot write (a closed pipe, <c>/dev/full</c>): the printed report is
/// an output like the others (nothing committed when it cannot be printed), and an unwritable standard error never turns
/// an exit code of SPEC 5 into a crash.
/// </summary>
public sealed class UnwritableStandardStreamsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public UnwritableStandardStreamsTests() => HandMadeCorpus.WriteTo(_dir);

    public void Dispose() => _dir.Dispose();

    [LinuxFact]
    public async Task PrintedReport_ReaderOfStandardOutputGone_ExitsOneAndCommitsNothing()
    {
        _dir.Write("kept.jsonl", "older\n");
        using var cli = RunningCli.Start(_dir.Path, HandMadeCorpus.FilterArgs("--out", "kept.jsonl"), readStdoutYourself: true);
        cli.StandardOutput.Dispose();

        var result = await cli.WaitAsync();

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("broken pipe", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.Equal("older\n", File.ReadAllText(_dir.File("kept.jsonl")));
        Assert.False(File.Exists(_dir.File("kept.jsonl.manifest.json")));
        Assert.DoesNotContain(_dir.FileNames(), n => n.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [LinuxFact]
    public async Task PrintedReport_StandardOutputFull_ExitsOneAndCommitsNothing()
    {
        _dir.Write("kept.jsonl", "older\n");

        var result = await RunRedirected(">/dev/full", HandMadeCorpus.FilterArgs("--out", "kept.jsonl"));

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("No space left on device", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.Equal("older\n", File.ReadAllText(_dir.File("kept.jsonl")));
        Assert.False(File.Exists(_dir.File("kept.jsonl.manifest.json")));
    }

    [LinuxTheory]
    [InlineData(2, "--no-such-flag")]
    [InlineData(2, "--records", "missing.jsonl")]
    [InlineData(1, "--records", "truncated.jsonl.gz")]
    [InlineData(0, "--records", HandMadeCorpus.RecordsFile)]
    public async Task StandardErrorFull_ExitCodeIsStillTheRunsOwn(int expected, params string[] records)
    {
        var gzip = new MemoryStream();
        using (var zip = new System.IO.Compression.GZipStream(gzip, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(Encoding.UTF8.GetBytes(HandMadeCorpus.RecordsText()));
        }

        _dir.Write("truncated.jsonl.gz", gzip.ToArray()[..^10]);
        string[] args =
        [
            "filter", .. records, "--consent", HandMadeCorpus.ConsentFile, "--jurisdictions", HandMadeCorpus.JurisdictionsFile,
            "--subject-field", "recipients", "--out", "-",
        ];

        var result = await RunRedirected("2>/dev/full", args);

        Assert.True(result.ExitCode == expected, result.ToString());
        if (expected == 0)
        {
            // The data went to standard output; the report, meant for standard error, had nowhere to go.
            Assert.Equal(HandMadeCorpus.ExpectedKept(), result.StdOut);
        }
    }

    /// <summary>Runs the CLI through <c>sh -c 'exec "$@" REDIRECTION'</c>, so one of its standard streams is what the shell makes it.</summary>
    private async Task<CliResult> RunRedirected(string redirection, string[] args)
    {
        var cli = CliProcess.StartInfo(_dir.Path, args);
        var start = new ProcessStartInfo("sh")
        {
            WorkingDirectory = _dir.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
        };
        foreach (var arg in (string[])["-c", $"exec \"$@\" {redirection}", "sh", cli.FileName, .. cli.ArgumentList])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
