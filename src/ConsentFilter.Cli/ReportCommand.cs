using System.CommandLine;
using ConsentFilter.Sharding;

namespace ConsentFilter.Cli;

/// <summary><c>consentfilter report merge DIR</c>: one report for a sharded run, refusing to call it complete if a task is missing.</summary>
internal static class ReportCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var directory = new Argument<string>("DIR") { Description = "The run directory given to filter --out-dir." };
        var output = new Option<string?>("--out") { Description = "Write the merged report here (atomically) instead of standard output.", HelpName = "PATH" };
        var merge = new Command("merge", "Merge the task reports of a sharded run.\n\nExample:\n  consentfilter report merge run/ --out run/report.json")
        {
            directory, output,
        };
        merge.SetAction(async (parse, cancellationToken) =>
        {
            var reports = Path.Combine(parse.GetValue(directory)!, "_reports");
            RunPaths.Check(
                Directory.Exists(reports) ? Directory.GetFiles(reports, "task-*-of-*.json").Select(f => ("a task report", (string?)f)) : [],
                ("--out", parse.GetValue(output)));
            var (report, missing) = ShardedRun.MergeTasks(parse.GetValue(directory)!);
            if (parse.GetValue(output) is { } path)
            {
                await using var file = ConsentFilter.IO.AtomicFile.Create(path);
                ReportMerger.Write(report, file.Stream);
                await file.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await stdout.WriteLineAsync(report.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
            }

            if (missing.Count > 0)
            {
                await stderr.WriteLineAsync($"consentfilter: error: run incomplete: missing task report(s) {string.Join(", ", missing)} of {report["tasks"]!["count"]}").ConfigureAwait(false);
                return ExitCodes.RuntimeFailure;
            }

            if (report["complete"]?.GetValue<bool>() != true)
            {
                await stderr.WriteLineAsync("consentfilter: error: run incomplete: a task report says its run did not complete").ConfigureAwait(false);
                return ExitCodes.RuntimeFailure;
            }

            return ExitCodes.Success;
        });

        return new Command("report", "Work with run reports.") { merge };
    }
}
