using System.CommandLine;
using ConsentFilter.Pipeline;
using ConsentFilter.Provenance;
using ConsentFilter.Sharding;

namespace ConsentFilter.Cli;

/// <summary><c>consentfilter verify</c> and <c>consentfilter purge</c>: check outputs against their manifests, remove revoked users.</summary>
internal static class ProvenanceCommands
{
    public static Command Verify(TextWriter stdout, TextWriter stderr)
    {
        var outputs = new Argument<string[]>("OUTPUT") { Description = "Outputs to check against OUTPUT.manifest.json.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("verify", "Re-hash outputs and check them against their manifests.\n\nExample:\n  consentfilter verify out/kept.jsonl") { outputs };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var failed = 0;
            foreach (var output in parse.GetValue(outputs)!)
            {
                if (Manifest.Verify(output) is { } problem)
                {
                    failed++;
                    await stderr.WriteLineAsync($"consentfilter: error: {problem}").ConfigureAwait(false);
                }
                else
                {
                    await stdout.WriteLineAsync($"{output}: ok").ConfigureAwait(false);
                }
            }

            return failed == 0 ? ExitCodes.Success : ExitCodes.RuntimeFailure;
        });
        return command;
    }

    public static Command Purge(TextWriter stdout, TextWriter stderr)
    {
        var datasets = new Option<string[]>("--datasets")
        {
            Description = "Filtered outputs to purge (globs allowed); each is checked against its manifest.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            HelpName = "PATH",
        };
        var consent = new Option<string>("--consent") { Description = "The new consent CSV.", Required = true, HelpName = "CSV" };
        var jurisdictions = CommonOptions.Jurisdictions();
        var report = new Option<string?>("--report") { Description = "Write the purge report here instead of standard output.", HelpName = "PATH" };
        var userField = new Option<string>("--user-field") { Description = "For an output without a matching manifest: its author's user id field.", DefaultValueFactory = _ => ConsentFilterDefaults.UserField, HelpName = "F" };
        var regionField = new Option<string>("--region-field") { Description = "For an output without a matching manifest: its region field.", DefaultValueFactory = _ => ConsentFilterDefaults.RegionField, HelpName = "F" };
        var subjectFields = new Option<string[]>("--subject-field") { Description = "For an output without a matching manifest: a co-subject field (repeatable). Without it, co-subjects of such an output go unread.", HelpName = "F" };
        var purpose = CommonOptions.Purpose();
        var command = new Command("purge", "Re-filter only the outputs that hold a user who is no longer allowed.\n\nExample:\n  consentfilter purge --datasets 'filtered/*.jsonl' --consent consent-2026-11.csv --jurisdictions jurisdictions.csv")
        {
            datasets, consent, jurisdictions, report, userField, regionField, subjectFields, purpose,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var paths = ConsentFilter.IO.InputPaths.Expand(parse.GetValue(datasets)!)
                .Where(p => !p.EndsWith(".manifest.json", StringComparison.Ordinal)).ToList();
            RunPaths.Check(
                [.. paths.SelectMany(p => new (string, string?)[] { ("--datasets", p), ("--datasets manifest", Manifest.PathFor(p)) }),
                    ("--consent", parse.GetValue(consent)), ("--jurisdictions", parse.GetValue(jurisdictions))],
                ("--report", parse.GetValue(report)));
            // What a manifest says wins; these read an output that has none (or one that does not match it).
            var withoutManifest = new ConsentFilterOptions
            {
                UserField = parse.GetValue(userField)!,
                RegionField = parse.GetValue(regionField)!,
                Purpose = parse.GetValue(purpose)!,
            };
            foreach (var field in parse.GetValue(subjectFields) ?? [])
            {
                withoutManifest.SubjectFields.Add(field);
            }

            PurgeReport result;
            try
            {
                result = await ConsentFilter.Provenance.Purge.RunAsync(paths, parse.GetValue(consent)!, parse.GetValue(jurisdictions), null, withoutManifest, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (e is not (DataFileException or OperationCanceledException or OutOfMemoryException))
            {
                // Outputs are replaced one by one: those before the failure may be, those after it are as they were.
                throw new CommittedButUnreportedException(
                    $"purge stopped: {e.Message}; outputs it reached before may have been replaced, the others are as they were (run it again)", e);
            }

            foreach (var warning in result.Warnings)
            {
                await stderr.WriteLineAsync($"consentfilter: warning: {warning}").ConfigureAwait(false);
            }

            var json = result.ToJson();
            if (parse.GetValue(report) is { } path)
            {
                await using var file = ConsentFilter.IO.AtomicFile.Create(path);
                ReportMerger.Write(json, file.Stream);
                await file.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await ConsoleApp.PrintAfterCommitAsync(
                    stdout, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), "the purged outputs were replaced", cancellationToken)
                    .ConfigureAwait(false);
            }

            return result.Skipped.Count == 0 ? ExitCodes.Success : ExitCodes.RuntimeFailure;
        });
        return command;
    }
}
