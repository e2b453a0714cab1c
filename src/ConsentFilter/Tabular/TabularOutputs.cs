using ConsentFilter.IO;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Tabular;

/// <summary>The end of a CSV or Parquet run: report, then commits, data first and report last.</summary>
internal static class TabularOutputs
{
    internal static async Task<FilterReport> FinishAsync(
        TabularRun run, IReadOnlyList<string> inputPaths, OutputFile? kept, OutputFile? rejections, OutputFile? quarantine, OutputFile? reportFile,
        CancellationToken cancellationToken, FilterReport? report = null)
    {
        if (report is null)
        {
            report = run.Report(inputPaths);
            if (reportFile is not null)
            {
                report.WriteJson(reportFile.Stream);
            }
        }

        // A committed report means every output it describes is in place.
        cancellationToken.ThrowIfCancellationRequested();
        if (kept is not null)
        {
            await kept.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (rejections is not null)
        {
            await rejections.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (quarantine is not null)
        {
            await quarantine.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (reportFile is not null)
        {
            await reportFile.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        return report;
    }
}
