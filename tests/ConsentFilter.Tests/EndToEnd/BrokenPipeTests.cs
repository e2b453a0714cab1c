using System.Text;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary><c>filter --out - | head -1</c>: a reader that goes away fails the run (exit 1, one line), and no report calls it complete.</summary>
public sealed class BrokenPipeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public BrokenPipeTests()
    {
        HandMadeCorpus.WriteTo(_dir);

        // About 10 MB of kept records: far more than the filter's 1 MiB buffer and the pipe's 64 KiB.
        var line = "{\"id\":\"r1\",\"user_id\":\"alice\",\"text\":\"kept and written to standard output\"}\n";
        _dir.Write("big.jsonl", string.Concat(Enumerable.Repeat(line, 150_000)));
    }

    public void Dispose() => _dir.Dispose();

    [LinuxTheory]
    [InlineData("-", true)]
    [InlineData("-", false)]
    [InlineData("/dev/stdout", true)]
    [InlineData("/dev/fd/1", true)]
    public async Task Filter_StandardOutputReaderClosesEarly_ExitsOneWithOneLineAndNoCompleteReport(string output, bool reportFile)
    {
        // /dev/stdout and /dev/fd/1 are this process's descriptor 1 too: the same pipe, the same failure.
        string[] args =
        [
            "filter", "--records", "big.jsonl", "--consent", HandMadeCorpus.ConsentFile, "--jurisdictions", HandMadeCorpus.JurisdictionsFile,
            "--out", output, .. reportFile ? new[] { "--report", "report.json" } : [],
        ];
        using var cli = RunningCli.Start(_dir.Path, args, readStdoutYourself: true);

        var first = await cli.StandardOutput.ReadLineAsync();
        cli.StandardOutput.Dispose();
        var result = await cli.WaitAsync();

        Assert.StartsWith("{\"id\":\"r1\"", first, StringComparison.Ordinal);
        Assert.True(result.ExitCode == 1, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("broken pipe", line, StringComparison.Ordinal);
        Assert.DoesNotContain("\"complete\": true", result.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("report.json")), "a run cut short must not commit a report");
        Assert.DoesNotContain(_dir.FileNames(), n => n.EndsWith(".tmp", StringComparison.Ordinal));
    }
}
