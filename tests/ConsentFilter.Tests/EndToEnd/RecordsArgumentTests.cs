using System.Diagnostics;
using System.Text;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>What <c>--records</c> says when it names a directory, or standard input that is a terminal.</summary>
public sealed class RecordsArgumentTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public RecordsArgumentTests() => HandMadeCorpus.WriteTo(_dir);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Filter_RecordsIsADirectory_ExitsTwoSayingSo()
    {
        Directory.CreateDirectory(_dir.File("data"));

        var result = await CliProcess.RunAsync(_dir.Path, "filter", "--records", "data", "--consent", HandMadeCorpus.ConsentFile, "--out", "kept.jsonl");

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("data: is a directory", line, StringComparison.Ordinal);
        Assert.DoesNotContain("not found", line, StringComparison.Ordinal);
    }

    [LinuxFact]
    public async Task Filter_RecordsIsADanglingSymlink_ExitsTwoLikeAMissingFile()
    {
        File.CreateSymbolicLink(_dir.File("records-link.jsonl"), _dir.File("gone.jsonl"));

        var result = await CliProcess.RunInProcessAsync("filter", "--records", _dir.File("records-link.jsonl"), "--consent", _dir.File(HandMadeCorpus.ConsentFile), "--out", _dir.File("kept.jsonl"));

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("records file not found (a symbolic link", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
    }

    [LinuxFact]
    public async Task Filter_RecordsFromDevStdinAPipe_IsNoDanglingLink()
    {
        // /dev/stdin links to /proc/self/fd/0, whose target is "pipe:[N]", no path: it must still count as there.
        var result = await CliProcess.RunAsync(_dir.Path, HandMadeCorpus.FilterArgs("--out", "kept.jsonl", "--report", "report.json")[..^0] is var args
            ? [.. args.Select(a => a == HandMadeCorpus.RecordsFile ? "/dev/stdin" : a)]
            : [], HandMadeCorpus.RecordsText());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(HandMadeCorpus.ExpectedKept(), File.ReadAllText(_dir.File("kept.jsonl")));
    }

    [LinuxFact]
    public async Task Filter_OutToDevStdoutWithoutReport_StandardOutputHoldsOnlyTheRecords()
    {
        var result = await CliProcess.RunAsync(_dir.Path, HandMadeCorpus.FilterArgs("--out", "/dev/stdout"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(HandMadeCorpus.ExpectedKept(), result.StdOut);
        Assert.Contains("\"complete\": true", result.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--out", "")]
    [InlineData("--out", "newdir/")]
    [InlineData("--out", "existing")]
    [InlineData("--rejected", "existing")]
    [InlineData("--report", "")]
    public async Task Filter_OutputPathEmptyOrADirectory_ExitsTwoBeforeWritingAnything(string option, string path)
    {
        Directory.CreateDirectory(_dir.File("existing"));
        var target = path.Length == 0 ? path : _dir.File(path);
        string[] outputs = option == "--out" ? ["--out", target] : ["--out", _dir.File("kept.jsonl"), option, target];

        var result = await CliProcess.RunInProcessAsync(
            ["filter", "--records", _dir.File(HandMadeCorpus.RecordsFile), "--consent", _dir.File(HandMadeCorpus.ConsentFile), .. outputs]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith($"consentfilter: error: {option}", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("newdir")));
        Assert.False(File.Exists(_dir.File("kept.jsonl")));
    }

    [LinuxFact]
    public async Task Filter_RecordsFromATerminal_PrintsAHintInsteadOfWaitingSilently()
    {
        // script(1) gives the CLI a pseudo-terminal as standard input.
        var cli = CliProcess.StartInfo(_dir.Path, ["filter", "--records", "-", "--consent", HandMadeCorpus.ConsentFile, "--out", "kept.jsonl"]);
        var command = string.Join(' ', new[] { cli.FileName }.Concat(cli.ArgumentList).Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
        var start = new ProcessStartInfo("script", ["-qfec", command, "/dev/null"])
        {
            WorkingDirectory = _dir.Path,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        using var script = Process.Start(start)!;
        var seen = new StringBuilder();
        try
        {
            var buffer = new char[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (!seen.ToString().Contains("reading records from standard input", StringComparison.Ordinal))
            {
                var n = await script.StandardOutput.ReadAsync(buffer, timeout.Token);
                Assert.True(n > 0, $"the CLI ended without a hint: {seen}");
                seen.Append(buffer, 0, n);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no hint within 30 s; the terminal showed: {seen}");
        }
        finally
        {
            script.Kill(entireProcessTree: true);
        }

        Assert.Contains("Ctrl+D", seen.ToString(), StringComparison.Ordinal);
    }
}
