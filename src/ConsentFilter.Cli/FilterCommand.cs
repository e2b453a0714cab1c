using System.CommandLine;
using System.Globalization;
using ConsentFilter.Pipeline;
using ConsentFilter.Sharding;

namespace ConsentFilter.Cli;

/// <summary><c>consentfilter filter</c>: the main job, a thin shell over <see cref="RecordFilter"/>.</summary>
internal static class FilterCommand
{
    private const string HashKeyEnvironmentVariable = "CONSENTFILTER_HASH_KEY";

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var records = new Option<string[]>("--records")
        {
            Description = "Record files: JSON Lines, .csv or .parquet by extension, gzip/zstd decompressed, recognised by content (a .gz/.zst name must match it) (several allowed, one format per run, globs like shards/*.jsonl.zst; - is standard input, JSON Lines).",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            HelpName = "PATH",
        };
        var consent = CommonOptions.Consent(orDatabase: true);
        var database = new ConsentDatabaseOptions();
        var jurisdictions = CommonOptions.Jurisdictions();
        var purpose = CommonOptions.Purpose();
        var unknownUsers = CommonOptions.UnknownUsers();
        var output = new Option<string?>("--out") { Description = "Kept records (- is standard output). Committed atomically. Or use --out-dir.", HelpName = "PATH" };
        var outDir = new Option<string?>("--out-dir") { Description = "One output per input file in this directory, with per-file audit logs, reports and completion markers (for sharded runs).", HelpName = "DIR" };
        var shard = new Option<string?>("--shard") { Description = "With --out-dir: this task's share of the files, I/N (0-based). Omitted: detected from Kubernetes, Slurm or AWS Batch array variables, else 0/1.", HelpName = "I/N" };
        var shardCount = new Option<int?>("--shard-count") { Description = "Task count where the scheduler does not expose it (Kubernetes Indexed Jobs, AWS Batch).", HelpName = "N" };
        var resume = new Option<bool>("--resume") { Description = "With --out-dir: skip input files whose completion marker exists." };
        var rejected = new Option<string?>("--rejected") { Description = "Rejection log (JSONL, hashed user ids, no content).", HelpName = "PATH" };
        var quarantine = new Option<string?>("--quarantine") { Description = "Quarantine for malformed lines (JSONL with the raw line).", HelpName = "PATH" };
        var report = new Option<string?>("--report") { Description = "Report JSON file. Omitted: printed to standard output (standard error when --out is -).", HelpName = "PATH" };
        var userField = new Option<string>("--user-field") { Description = "Field of the author's user id (dotted path).", DefaultValueFactory = _ => ConsentFilterDefaults.UserField, HelpName = "F" };
        var regionField = new Option<string>("--region-field") { Description = "Field of the record's region (dotted path).", DefaultValueFactory = _ => ConsentFilterDefaults.RegionField, HelpName = "F" };
        var subjectFields = new Option<string[]>("--subject-field") { Description = "Co-subject field (repeatable); every co-subject must be allowed too.", HelpName = "F" };
        var idField = new Option<string>("--id-field") { Description = "Record id field echoed in the rejection log.", DefaultValueFactory = _ => ConsentFilterDefaults.IdField, HelpName = "F" };
        var maxLineLength = new Option<int>("--max-line-length") { Description = "Longest line in bytes; longer lines are quarantined.", DefaultValueFactory = _ => ConsentFilterDefaults.MaxLineLength, HelpName = "BYTES" };
        var maxSubjects = new Option<int>("--max-subjects") { Description = "Most co-subjects per record; more is quarantined as too_many_subjects.", DefaultValueFactory = _ => ConsentFilterDefaults.MaxSubjects, HelpName = "N" };
        var asOf = CommonOptions.AsOf();
        var format = new Option<string?>("--format") { Description = "Records format for every input: jsonl, csv, parquet or arrow. Omitted: detected from each file's content and name.", HelpName = "FORMAT" };
        var noManifest = new Option<bool>("--no-manifest") { Description = "Do not write OUTPUT.manifest.json (provenance for verify and purge) beside the output." };
        var maxSnapshotAge = new Option<string?>("--max-snapshot-age") { Description = "Refuse a snapshot older than this (e.g. 36h, 7d, or d.hh:mm:ss).", HelpName = "AGE" };
        var threads = new Option<int>("--threads") { Description = "Worker threads deciding records (output order is kept).", DefaultValueFactory = _ => Environment.ProcessorCount, HelpName = "N" };
        var hashKeyFile = new Option<string?>("--hash-key-file") { Description = $"File holding the HMAC key for user ids in the rejection log (or set {HashKeyEnvironmentVariable}). Without a key: plain SHA-256.", HelpName = "PATH" };

        var command = new Command("filter", "Filter records against consent and write the kept ones byte for byte.\n\nExample:\n  consentfilter filter --records samples/records.jsonl --consent samples/consent.csv --jurisdictions samples/jurisdictions.csv --subject-field recipients --out out/kept.jsonl --rejected out/rejected.jsonl --quarantine out/quarantine.jsonl")
        {
            records, consent, jurisdictions, purpose, output, outDir, shard, shardCount, resume, rejected, quarantine, report,
            userField, regionField, subjectFields, idField, unknownUsers, maxLineLength, maxSubjects, asOf, format, noManifest, maxSnapshotAge, threads, hashKeyFile,
        };

        foreach (var option in database.All)
        {
            command.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new ConsentFilterOptions
            {
                Purpose = parse.GetValue(purpose)!,
                UserField = parse.GetValue(userField)!,
                RegionField = parse.GetValue(regionField)!,
                IdField = parse.GetValue(idField)!,
                UnknownUsers = CommonOptions.ParseUnknownUsers(parse.GetValue(unknownUsers)!),
                MaxLineLength = parse.GetValue(maxLineLength),
                MaxSubjects = parse.GetValue(maxSubjects),
                JurisdictionsAsOf = CommonOptions.ParseAsOf(parse.GetValue(asOf)),
                WriteManifest = !parse.GetValue(noManifest),
                RecordFormat = CommonOptions.ParseRecordFormat(parse.GetValue(format)),
                MaxDegreeOfParallelism = parse.GetValue(threads),
                MaxSnapshotAge = ParseAge(parse.GetValue(maxSnapshotAge)),
            };
            foreach (var field in parse.GetValue(subjectFields) ?? [])
            {
                options.SubjectFields.Add(field);
            }

            string[] inputs;
            try
            {
                inputs = [.. ConsentFilter.IO.InputPaths.Expand(parse.GetValue(records)!)];
            }
            catch (FileNotFoundException e)
            {
                throw new UsageException(e.Message);
            }

            // Sharding and resuming are --out-dir's: ignored silently, N tasks would each filter every record.
            if (parse.GetValue(outDir) is null && (parse.GetValue(shard) is not null || parse.GetValue(shardCount) is not null || parse.GetValue(resume)))
            {
                throw new UsageException("--shard, --shard-count and --resume work with --out-dir (one output per input file)");
            }

            using var temporary = database.Resolve(parse, consent, [options.Purpose], cancellationToken, out var consentPath);
            // Before anything is read: no output may be an input or another output, however the paths are spelt.
            var read = RunPaths.Inputs(inputs, consentPath, parse.GetValue(jurisdictions), parse.GetValue(hashKeyFile));
            if (parse.GetValue(outDir) is { } directory)
            {
                if (parse.GetValue(output) is not null)
                {
                    throw new UsageException("--out and --out-dir cannot be used together");
                }

                var task = ResolveShard(parse.GetValue(shard), parse.GetValue(shardCount));
                RunPaths.RequireRecordFiles(inputs);
                RunPaths.CheckSharded(read, inputs, directory, task, parse.GetValue(report));
                options.UserIdHashKey = ReadHashKey(parse.GetValue(hashKeyFile));
                return await RunShardedAsync(consentPath, parse.GetValue(jurisdictions), options, inputs, directory,
                    task, parse.GetValue(resume), parse.GetValue(report), stdout, cancellationToken).ConfigureAwait(false);
            }

            var outputs = new FilterFileOutputs(parse.GetValue(output) ?? throw new UsageException("--out (or --out-dir) is required"),
                parse.GetValue(rejected), parse.GetValue(quarantine), parse.GetValue(report));
            CheckPaths(inputs, outputs);
            RunPaths.CheckFilter(read, outputs, options.WriteManifest);
            options.UserIdHashKey = ReadHashKey(parse.GetValue(hashKeyFile));
            RunPaths.HintIfReadingATerminal(inputs, stderr);

            using var filter = RecordFilter.Load(consentPath, parse.GetValue(jurisdictions), options);
            using var progress = TerminalProgress.CreateIfTerminal(inputs);
            filter.Progress = progress;
            // Without --report the report is printed, before the commit like any output: a closed or full standard
            // output fails the run with nothing committed, instead of after it with the outputs already in place.
            await filter.RunToFilesAsync(inputs, outputs.Report is null
                    ? outputs with { ReportText = new[] { outputs.Output, outputs.Rejections, outputs.Quarantine }.Any(o => o is not null && IsStandardOutput(o)) ? stderr : stdout }
                    : outputs, cancellationToken)
                .ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task<int> RunShardedAsync(
        string consent, string? jurisdictions, ConsentFilterOptions options, string[] inputs, string directory, Shard shard, bool resume,
        string? reportPath, TextWriter stdout, CancellationToken cancellationToken)
    {
        foreach (var input in inputs)
        {
            if (input == "-" || !File.Exists(input))
            {
                throw new UsageException($"{input}: with --out-dir every input must be an existing file");
            }
        }

        if (inputs.Select(Path.GetFileName).Distinct(StringComparer.Ordinal).Count() != inputs.Length)
        {
            throw new UsageException("with --out-dir every input must have a distinct file name");
        }

        using var filter = RecordFilter.Load(consent, jurisdictions, options);
        var report = await ShardedRun.RunAsync(filter, inputs, directory, shard, resume, cancellationToken).ConfigureAwait(false);
        if (reportPath is not null)
        {
            await using var file = ConsentFilter.IO.AtomicFile.Create(reportPath);
            ReportMerger.Write(report, file.Stream);
            await file.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // Each file's outputs were committed on their own (and a rerun with --resume skips them).
            await ConsoleApp.PrintAfterCommitAsync(
                stdout, report.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), "the outputs were committed", cancellationToken)
                .ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    /// <summary>Whether an output goes to this process's standard output (<c>-</c>, <c>/dev/stdout</c>, <c>/dev/fd/1</c>, the file it is redirected to): then the report must not.</summary>
    private static bool IsStandardOutput(string output) =>
        output == "-"
        || (OperatingSystem.IsLinux()
            && (Path.GetFullPath(output) is "/dev/stdout" or "/dev/fd/1" or "/proc/self/fd/1" || ConsentFilter.IO.PathIdentity.IsSameFile(output, "/dev/stdout")));

    private static Shard ResolveShard(string? text, int? count)
    {
        if (text is not null)
        {
            return Shard.TryParse(text, out var parsed) ? parsed : throw new UsageException($"--shard: '{text}' is not I/N with 0 <= I < N");
        }

        try
        {
            return ShardEnvironment.Detect(Environment.GetEnvironmentVariable, count) ?? Shard.Single;
        }
        catch (InvalidOperationException e)
        {
            throw new UsageException(e.Message);
        }
    }

    private static void CheckPaths(string[] inputs, FilterFileOutputs outputs)
    {
        RunPaths.RequireRecordFiles(inputs);
        if (inputs.Count(i => i == "-") > 1)
        {
            throw new UsageException("standard input (-) can be read only once");
        }

        if (new[] { outputs.Output, outputs.Rejections, outputs.Quarantine, outputs.Report }.Count(p => p == "-") > 1)
        {
            throw new UsageException("only one of --out, --rejected, --quarantine and --report can be standard output (-)");
        }
    }

    private static TimeSpan? ParseAge(string? text) => CommonOptions.ParseDuration(text, "--max-snapshot-age");

    private static string? ReadHashKey(string? file)
    {
        if (file is not null)
        {
            try
            {
                var key = File.ReadAllText(file).Trim();
                return key.Length == 0 ? throw new UsageException($"{file}: the hash key file is empty") : key;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"{file}: cannot read the hash key file: {e.Message}");
            }
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(HashKeyEnvironmentVariable);
        return string.IsNullOrEmpty(fromEnvironment) ? null : fromEnvironment;
    }
}
