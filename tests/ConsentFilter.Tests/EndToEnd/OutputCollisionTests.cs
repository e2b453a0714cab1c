using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>An output that is an input, or another output, by any path: exit 2, one line naming both, every file as it was.</summary>
public sealed class OutputCollisionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public OutputCollisionTests() => HandMadeCorpus.WriteTo(_dir);

    public void Dispose() => _dir.Dispose();

    private string[] Filter(params string[] more) =>
    [
        "filter", "--records", HandMadeCorpus.RecordsFile, "--consent", HandMadeCorpus.ConsentFile,
        "--jurisdictions", HandMadeCorpus.JurisdictionsFile, .. more,
    ];

    public static TheoryData<string[], string, string> Collisions => new()
    {
        { ["--out", "consent.csv"], "--out consent.csv", "--consent consent.csv" },
        { ["--out", "kept.jsonl", "--report", "jurisdictions.csv"], "--report jurisdictions.csv", "--jurisdictions jurisdictions.csv" },
        { ["--out", "./sub/../records.jsonl"], "--out ./sub/../records.jsonl", "--records records.jsonl" },
        { ["--out", "kept.jsonl", "--rejected", "key.txt", "--hash-key-file", "key.txt"], "--rejected key.txt", "--hash-key-file key.txt" },
        { ["--out", "kept.jsonl", "--quarantine", "./kept.jsonl"], "--quarantine ./kept.jsonl", "--out kept.jsonl" },
        { ["--out", "records.jsonl.x", "--report", "records.jsonl.x.manifest.json"], "--report records.jsonl.x.manifest.json", "the manifest of --out" },
        { ["--out-dir", "."], "--out-dir output ./records.jsonl", "--records records.jsonl" },
    };

    [Theory]
    [MemberData(nameof(Collisions))]
    public async Task Filter_OutputIsAnInputOrAnotherOutput_ExitsTwoNamingBothAndChangesNothing(string[] outputs, string named, string other)
    {
        _dir.Write("key.txt", "a secret key\n");
        var before = Snapshot();

        var result = await CliProcess.RunAsync(_dir.Path, Filter(outputs));

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains(named, line, StringComparison.Ordinal);
        Assert.Contains(other, line, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
    }

    [LinuxFact]
    public async Task Filter_OutIsASymlinkToTheRecords_ExitsTwoAndTheRecordsStay()
    {
        File.CreateSymbolicLink(_dir.File("link.jsonl"), HandMadeCorpus.RecordsFile);
        var before = Snapshot();

        var result = await CliProcess.RunAsync(_dir.Path, Filter("--out", "link.jsonl"));

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--records records.jsonl", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
        Assert.NotNull(new FileInfo(_dir.File("link.jsonl")).LinkTarget);
    }

    [LinuxFact]
    public async Task Filter_ReportIsAHardLinkToTheConsent_ExitsTwo()
    {
        Assert.Equal(0, (await Shell($"ln {HandMadeCorpus.ConsentFile} hard.csv")).ExitCode);
        var before = Snapshot();

        var result = await CliProcess.RunAsync(_dir.Path, Filter("--out", "kept.jsonl", "--report", "hard.csv"));

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--consent consent.csv", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
    }

    [LinuxFact]
    public async Task Filter_OutputThroughASymlinkedDirectory_IsTheSameNewFile()
    {
        Directory.CreateDirectory(_dir.File("real"));
        Directory.CreateSymbolicLink(_dir.File("alias"), "real");

        var result = await CliProcess.RunAsync(_dir.Path, Filter("--out", "real/kept.jsonl", "--rejected", "alias/kept.jsonl"));

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("are the same file", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.File("real"), "*", new EnumerationOptions { AttributesToSkip = 0 }));
    }

    [Fact]
    public async Task SnapshotBuild_OutIsTheConsentCsv_ExitsTwoAndKeepsTheCsv()
    {
        var before = Snapshot();

        var result = await CliProcess.RunAsync(_dir.Path, "snapshot", "build", "--consent", "consent.csv", "--out", "./consent.csv");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--consent consent.csv", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task Purge_ReportIsADataset_ExitsTwoAndKeepsTheDataset()
    {
        var run = await CliProcess.RunAsync(_dir.Path, Filter("--out", "kept.jsonl"));
        Assert.True(run.ExitCode == 0, run.ToString());
        var before = Snapshot();

        var result = await CliProcess.RunAsync(_dir.Path, "purge", "--datasets", "kept.jsonl", "--consent", "consent.csv", "--report", "kept.jsonl");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--datasets kept.jsonl", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task RunToFilesAsync_OutputIsTheConsentFile_ThrowsPathConflictBeforeWriting()
    {
        using var filter = RecordFilter.Load(_dir.File(HandMadeCorpus.ConsentFile), _dir.File(HandMadeCorpus.JurisdictionsFile), new ConsentFilterOptions());
        var before = Snapshot();

        var e = await Assert.ThrowsAsync<PathConflictException>(() =>
            filter.RunToFilesAsync([_dir.File(HandMadeCorpus.RecordsFile)], new FilterFileOutputs(_dir.File("kept.jsonl"), Report: _dir.File(HandMadeCorpus.ConsentFile))));

        Assert.Contains("consent", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
    }

    private Dictionary<string, string> Snapshot() =>
        _dir.FileNames().ToDictionary(n => n, n => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(_dir.File(n)))));

    private async Task<CliResult> Shell(string command)
    {
        var start = new System.Diagnostics.ProcessStartInfo("sh", ["-c", command]) { WorkingDirectory = _dir.Path, UseShellExecute = false };
        using var process = System.Diagnostics.Process.Start(start)!;
        await process.WaitForExitAsync();
        return new CliResult(process.ExitCode, "", "");
    }
}
