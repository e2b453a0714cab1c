using System.Diagnostics;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>Devices, FIFOs and links to them as outputs are written in place and never replaced by a regular file.</summary>
public sealed class SpecialFileOutputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public SpecialFileOutputTests() => HandMadeCorpus.WriteTo(_dir);

    public void Dispose() => _dir.Dispose();

    private static string[] Filter(params string[] outputs) =>
    [
        "filter", "--records", HandMadeCorpus.RecordsFile, "--consent", HandMadeCorpus.ConsentFile,
        "--jurisdictions", HandMadeCorpus.JurisdictionsFile, "--subject-field", "recipients", .. outputs,
    ];

    [LinuxFact]
    public async Task Filter_RejectedToTheNullDevice_SucceedsAndTheDeviceStaysACharacterDevice()
    {
        var device = Fifo.NullDevice(_dir.Path);

        var result = await CliProcess.RunAsync(_dir.Path, Filter("--out", "kept.jsonl", "--rejected", device, "--quarantine", device));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("character special file", Fifo.KindOf(device));
        Assert.True(File.Exists(_dir.File("kept.jsonl")));
        Assert.DoesNotContain(_dir.FileNames(), n => n.EndsWith(".tmp", StringComparison.Ordinal) || n.EndsWith(".old", StringComparison.Ordinal));
    }

    [LinuxFact]
    public async Task Filter_OutToADevice_WritesNoManifestBesideIt()
    {
        // "Beside" a device is /dev (a normal user cannot write there; root would litter it), and a device's bytes
        // cannot be digested again: such outputs get no manifest, as standard output gets none.
        var device = Fifo.NullDevice(_dir.Path);

        var result = await CliProcess.RunAsync(_dir.Path, Filter("--out", device, "--report", "report.json"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(File.Exists(device + ".manifest.json"), "a manifest was written beside a device");
        Assert.Equal("character special file", Fifo.KindOf(device));
        Assert.DoesNotContain(_dir.FileNames(), n => n.Contains(".manifest.json", StringComparison.Ordinal));
    }

    [LinuxFact]
    public async Task Filter_SymlinkToTheNullDeviceAsReport_StaysASymlink()
    {
        var device = Fifo.NullDevice(_dir.Path);
        File.CreateSymbolicLink(_dir.File("report-link"), device);

        var result = await CliProcess.RunAsync(_dir.Path, Filter("--out", "kept.jsonl", "--report", "report-link"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("symbolic link", Fifo.KindOf(_dir.File("report-link")));
        Assert.Equal("character special file", Fifo.KindOf(device));
    }

    [LinuxFact]
    public async Task Filter_OutToAFifoWithAReader_TheReaderGetsTheKeptRecordsAndItStaysAFifo()
    {
        Fifo.Make(_dir.File("kept.fifo"));
        var reference = await CliProcess.RunAsync(_dir.Path, Filter("--out", "kept.jsonl"));
        Assert.True(reference.ExitCode == 0, reference.ToString());
        using var reader = Process.Start(new ProcessStartInfo("cat", [_dir.File("kept.fifo")]) { UseShellExecute = false, RedirectStandardOutput = true })!;
        var received = reader.StandardOutput.ReadToEndAsync();
        try
        {
            var result = await CliProcess.RunAsync(_dir.Path, Filter("--out", "kept.fifo", "--no-manifest"));

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal(File.ReadAllText(_dir.File("kept.jsonl")), await received.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal("fifo", Fifo.KindOf(_dir.File("kept.fifo")));
        }
        finally
        {
            if (!reader.HasExited)
            {
                reader.Kill();
            }
        }
    }

    [LinuxFact]
    public async Task Filter_ReportToDevStderr_IsWrittenToStandardErrorAfterTheData()
    {
        var result = await CliProcess.RunAsync(_dir.Path, Filter("--out", "kept.jsonl", "--report", "/dev/stderr"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("\"complete\": true", result.StdErr, StringComparison.Ordinal);
        Assert.Equal("symbolic link", Fifo.KindOf("/dev/stderr"));
        Assert.True(File.Exists(_dir.File("kept.jsonl")));
    }
}
