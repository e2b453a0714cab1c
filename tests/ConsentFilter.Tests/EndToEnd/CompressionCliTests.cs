using System.Text.Json;
using ConsentFilter.Tests.IO;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>The real CLI on compressed inputs: recognised by content, read to their end, fail-closed (docs/reliability.md).</summary>
public sealed class CompressionCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public CompressionCliTests() => HandMadeCorpus.WriteTo(_dir);

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("garbage")]
    [InlineData("zeros")]
    public async Task Filter_GzipWithBytesAfterAMember_ExitsOneNamingFileAndOffsetAndCommitsNothing(string trailing)
    {
        var member = CompressionTests.Gzip(HandMadeCorpus.RecordsText());
        _dir.Write("records.jsonl.gz", [.. member, .. trailing == "garbage" ? "garbage"u8.ToArray() : new byte[64]]);
        _dir.Write("kept.jsonl.gz", "an older output\n");
        var before = _dir.FileNames();

        var result = await CliProcess.RunAsync(_dir.Path,
            "filter", "--records", "records.jsonl.gz", "--consent", HandMadeCorpus.ConsentFile, "--jurisdictions", HandMadeCorpus.JurisdictionsFile,
            "--out", "kept.jsonl.gz", "--report", "report.json", "--rejected", "rejected.jsonl", "--quarantine", "quarantine.jsonl");

        Assert.True(result.ExitCode == 1, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("records.jsonl.gz", line, StringComparison.Ordinal);
        Assert.Contains($"offset {member.Length} ", line, StringComparison.Ordinal);
        Assert.Contains("nothing was committed", line, StringComparison.Ordinal);
        Assert.Equal(before, _dir.FileNames());
        Assert.Equal("an older output\n", File.ReadAllText(_dir.File("kept.jsonl.gz")));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task Filter_CompressedStandardInput_DecompressedByItsMagicBytes(string format)
    {
        var text = HandMadeCorpus.RecordsText();
        var stdin = format == "gzip" ? CompressionTests.Gzip(text) : CompressionTests.Zstd(text, checksum: true);
        string[] args = ["filter", "--records", "-", "--consent", HandMadeCorpus.ConsentFile, "--jurisdictions", HandMadeCorpus.JurisdictionsFile,
            "--subject-field", "recipients", "--out", "-", "--report", "report.json"];

        var result = await CliProcess.RunAsync(_dir.Path, args, stdin);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(HandMadeCorpus.ExpectedKept(), result.StdOut);
        using var report = JsonDocument.Parse(File.ReadAllBytes(_dir.File("report.json")));
        var input = report.RootElement.GetProperty("inputs")[0];
        Assert.Equal(HandMadeCorpus.Records, input.GetProperty("records").GetInt64());
        Assert.Equal(format, input.GetProperty("compression").GetString());
        Assert.True(input.GetProperty("checksummed").GetBoolean());
    }

    [Fact]
    public async Task Filter_GzipContentNamedJsonl_SameOutputAsPlain()
    {
        _dir.Write("gzipped.jsonl", CompressionTests.Gzip(HandMadeCorpus.RecordsText()));

        var result = await CliProcess.RunAsync(_dir.Path,
            "filter", "--records", "gzipped.jsonl", "--consent", HandMadeCorpus.ConsentFile, "--jurisdictions", HandMadeCorpus.JurisdictionsFile,
            "--subject-field", "recipients", "--out", "kept.jsonl", "--report", "report.json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(HandMadeCorpus.ExpectedKept(), File.ReadAllText(_dir.File("kept.jsonl")));
    }

    [Fact]
    public async Task Filter_PlainContentNamedGz_ExitsOneAndCommitsNothing()
    {
        _dir.Write("records.jsonl.gz", HandMadeCorpus.RecordsText());
        var before = _dir.FileNames();

        var result = await CliProcess.RunAsync(_dir.Path,
            "filter", "--records", "records.jsonl.gz", "--consent", HandMadeCorpus.ConsentFile, "--jurisdictions", HandMadeCorpus.JurisdictionsFile,
            "--out", "kept.jsonl", "--report", "report.json");

        Assert.True(result.ExitCode == 1, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("records.jsonl.gz", line, StringComparison.Ordinal);
        Assert.Contains("gzip magic bytes 1f 8b", line, StringComparison.Ordinal);
        Assert.Equal(before, _dir.FileNames());
    }
}
