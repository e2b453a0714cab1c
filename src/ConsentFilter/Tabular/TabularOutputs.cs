using ConsentFilter.IO;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Tabular;

/// <summary>The end of a CSV or Parquet run: report, then commits, data first and report last.</summary>
internal static class TabularOutputs
{
    internal static async Task<FilterReport> FinishAsync(
        TabularRun run, IReadOnlyList<string> inputPaths, OutputFile? kept, OutputFile? rejections, OutputFile? quarantine, OutputFile? reportFile,
        CancellationToken cancellationToken, FilterReport? report = null, AtomicFile? keptFile = null)
    {
        if (report is null)
        {
            report = run.Report(inputPaths);
            if (reportFile is not null)
            {
                report.WriteJson(reportFile.Stream);
            }
        }

        // The same all-or-nothing commit as JSON Lines runs: everything prepared, then published data first, report last.
        OutputFile[] all = [.. new[] { kept, rejections, quarantine, reportFile }.OfType<OutputFile>()];
        foreach (var output in all)
        {
            await output.PrepareAsync(cancellationToken).ConfigureAwait(false);
        }

        if (keptFile is not null)
        {
            await keptFile.PrepareAsync(cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        AtomicCommit.Publish([.. new[] { keptFile }.OfType<AtomicFile>(), .. all.Select(o => o.File).OfType<AtomicFile>()], PhysicalFileSystem.Instance);
        return report;
    }
}
