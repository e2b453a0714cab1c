using ConsentFilter.Cli;

namespace ConsentFilter.Tests.Cli;

/// <summary>A mistyped option or command gets exit 2, one line, and the nearest known name.</summary>
public sealed class SuggestionTests
{
    [Theory]
    [InlineData("filter --recrods r.jsonl --consent c.csv --out o.jsonl", "Did you mean '--records'?")]
    [InlineData("filter --records r.jsonl --consent c.csv --out o.jsonl --treads 2", "Did you mean '--threads'?")]
    [InlineData("fitler", "Did you mean 'filter'?")]
    [InlineData("explain --consent c.csv --usr u1", "Did you mean '--user'?")]
    public async Task Run_Misspelt_SuggestsNearestName(string commandLine, string expected)
    {
        var stderr = new StringWriter();
        var code = await ConsoleApp.RunAsync(commandLine.Split(' '), new StringWriter(), stderr);

        Assert.Equal(2, code);
        var text = stderr.ToString();
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Run_TwoOutputsOnStandardOutput_IsAUsageError()
    {
        var root = Docs.ReadmeTests.RepositoryRoot();
        var stderr = new StringWriter();
        var code = await ConsoleApp.RunAsync(
            ["filter", "--records", Path.Combine(root, "samples", "records.jsonl"), "--consent", Path.Combine(root, "samples", "consent.csv"), "--out", "-", "--rejected", "-"],
            new StringWriter(), stderr);
        Assert.Equal(2, code);
        Assert.Contains("only one of --out", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ResponseFile_IsExpanded()
    {
        var directory = Directory.CreateTempSubdirectory("cf-rsp-").FullName;
        try
        {
            var root = Docs.ReadmeTests.RepositoryRoot();
            var rsp = Path.Combine(directory, "args.rsp");
            await File.WriteAllLinesAsync(rsp, ["explain", "--consent", Path.Combine(root, "samples", "consent.csv"), "--user", "u0002"]);
            var stdout = new StringWriter();
            var code = await ConsoleApp.RunAsync(["@" + rsp], stdout, new StringWriter());
            Assert.Equal(0, code);
            Assert.Contains("decision:", stdout.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
