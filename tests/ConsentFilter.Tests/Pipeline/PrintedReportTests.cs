using ConsentFilter.IO;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Support;
using ConsentFilter.Tests.Tabular;

namespace ConsentFilter.Tests.Pipeline;

/// <summary>
/// The report printed as text (<see cref="FilterFileOutputs.ReportText"/>, the CLI's standard output) goes out only when
/// nothing but the renames can fail: a run that fails after its data is written (the manifest cannot be created) prints
/// no report saying "complete".
/// </summary>
public sealed class PrintedReportTests
{
    [Fact]
    public async Task ReportText_RunSucceeds_PrintedOnceCompleteAndEqualToTheFileReport()
    {
        using var dir = new TempDirectory();
        var records = dir.Write("records.jsonl", new TabularCorpus(200).Jsonl());
        using var printed = new StringWriter();
        using var filter = new RecordFilter(TabularCorpus.Policy(), new ConsentFilterOptions());

        await filter.RunToFilesAsync([records], new FilterFileOutputs(dir.File("kept.jsonl"), Report: dir.File("report.json")) { ReportText = printed });

        Assert.Equal(File.ReadAllText(dir.File("report.json")) + Environment.NewLine, printed.ToString());
        Assert.Contains("\"complete\": true", printed.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportText_ManifestCannotBeCreated_NothingPrintedNothingCommitted()
    {
        using var dir = new TempDirectory();
        var records = dir.Write("records.jsonl", new TabularCorpus(200).Jsonl());
        using var printed = new StringWriter();
        using var filter = new RecordFilter(TabularCorpus.Policy(), new ConsentFilterOptions()) { FileSystem = new NoRoomForTheManifest() };

        await Assert.ThrowsAsync<IOException>(() =>
            filter.RunToFilesAsync([records], new FilterFileOutputs(dir.File("kept.jsonl")) { ReportText = printed }));

        Assert.Equal(string.Empty, printed.ToString());
        Assert.Equal(["records.jsonl"], dir.FileNames());
    }

    /// <summary>The real file system, but the manifest's temporary file cannot be created (a disk full just then).</summary>
    private sealed class NoRoomForTheManifest : IFileSystem
    {
        private static IFileSystem Inner => PhysicalFileSystem.Instance;

        public Stream OpenRead(string path) => Inner.OpenRead(path);

        public Stream CreateNew(string path) =>
            path.Contains(".manifest.json", StringComparison.Ordinal) ? throw new IOException("No space left on device") : Inner.CreateNew(path);

        public void FlushToDisk(Stream stream) => Inner.FlushToDisk(stream);

        public bool Exists(string path) => Inner.Exists(path);

        public void Move(string source, string destination, bool overwrite) => Inner.Move(source, destination, overwrite);

        public void Delete(string path) => Inner.Delete(path);

        public void FlushDirectory(string directory) => Inner.FlushDirectory(directory);
    }
}
