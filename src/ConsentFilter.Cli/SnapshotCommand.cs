using System.CommandLine;
using System.Globalization;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Cli;

/// <summary><c>consentfilter snapshot build|info</c>: compile a consent CSV into the memory-mapped form, and describe one.</summary>
internal static class SnapshotCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("snapshot", "Compile a consent CSV or bucket into a memory-mapped snapshot, or describe one.");
        command.Add(Build(stdout));
        command.Add(Info(stdout));
        command.Add(Diff(stdout, stderr));
        command.Add(StreamCommand.Publish(stdout));
        return command;
    }

    private static Command Build(TextWriter stdout)
    {
        var consent = new Option<string?>("--consent") { Description = "Consent CSV to compile.", HelpName = "CSV" };
        var bucket = new Option<string?>("--consent-kv") { Description = "Compile a NATS key-value consent bucket instead, read to its current end (with --nats); the file records the stream sequence it reflects.", HelpName = "BUCKET" };
        var nats = new Option<string?>("--nats") { Description = "NATS server URL (with --consent-kv).", HelpName = "URL" };
        var output = new Option<string>("--out") { Description = "The compiled snapshot file (written atomically).", Required = true, HelpName = "SNAPSHOT" };
        var purposes = new Option<string[]>("--purpose")
        {
            Description = "Purpose to hold (repeatable, at most 7).",
            DefaultValueFactory = _ => ["ai_training"],
            HelpName = "P",
        };
        var asOf = new Option<string?>("--as-of") { Description = "As-of time (ISO 8601) instead of the newest updated_at.", HelpName = "TIME" };
        var memory = new Option<string?>("--memory")
        {
            Description = "Memory budget of the build (sorted runs spill to a temporary directory beside the output): bytes or 512MiB, 1GiB... Default 1GiB.",
            HelpName = "SIZE",
        };
        var mergeable = new Option<bool>("--mergeable")
        {
            Description = "Also store each user's row-merge state (40 more bytes a user, format version 2), so the file can be the --base of a later delta build.",
        };
        var baseSnapshot = new Option<string?>("--base")
        {
            Description = "Apply the changed rows (--changes, or --consent-db with --consent-query) to this snapshot built with --mergeable: the result is what a full build of its rows followed by the changes writes. May be the --out path (replaced atomically).",
            HelpName = "SNAPSHOT",
        };
        var changes = new Option<string?>("--changes") { Description = "Consent CSV of the rows changed since --base (the consent CSV's columns and rules).", HelpName = "CSV" };
        var database = new ConsentDatabaseOptions();
        var command = new Command("build", "Compile a consent CSV, a database query, or a NATS key-value consent bucket; or apply a day's changes to a snapshot (--base).\n\nExamples:\n  consentfilter snapshot build --consent samples/consent.csv --out consent.snap\n  consentfilter snapshot build --consent consent.csv --mergeable --out consent.snap\n  consentfilter snapshot build --base consent.snap --changes changes.csv --out consent-new.snap\n  consentfilter snapshot build --consent-db \"Host=db;Database=cmp;Username=reader\" --consent-query \"SELECT user_id, region, ai_training, gpc, minor, updated_at FROM consent\" --out consent.snap\n  consentfilter snapshot build --consent-kv consent --nats nats://127.0.0.1:4222 --out consent.snap")
        {
            consent, bucket, nats, output, purposes, asOf, memory, mergeable, baseSnapshot, changes,
        };
        foreach (var option in database.All)
        {
            command.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(purposes) is { } given && given.Distinct(StringComparer.OrdinalIgnoreCase).Count() > CompiledSnapshot.MaxPurposes)
            {
                throw new UsageException($"--purpose: a compiled snapshot holds at most {CompiledSnapshot.MaxPurposes} purposes (got {given.Distinct(StringComparer.OrdinalIgnoreCase).Count()})");
            }

            if (parse.GetValue(bucket) is { } bucketName)
            {
                if (parse.GetValue(consent) is not null || parse.GetValue(asOf) is not null || database.IsGiven(parse))
                {
                    throw new UsageException("--consent-kv: give one of --consent, --consent-db or --consent-kv, and no --as-of with a bucket (its as-of is the time it is read)");
                }

                if (parse.GetValue(baseSnapshot) is not null || parse.GetValue(changes) is not null || parse.GetValue(mergeable))
                {
                    throw new UsageException("--consent-kv: --base, --changes and --mergeable apply to builds from a CSV or a database");
                }

                var url = parse.GetValue(nats) ?? throw new UsageException("--consent-kv needs --nats URL");
                await using var connection = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = url, Name = "consentfilter-snapshot-build" });
                await connection.ConnectAsync().ConfigureAwait(false);
                var built = await Streaming.ConsentKv.CompileAsync(connection, bucketName, parse.GetValue(purposes)!, parse.GetValue(output)!, cancellationToken).ConfigureAwait(false);
                await ConsoleApp.PrintAfterCommitAsync(
                    stdout,
                    $"{built.Path}: {built.Users} users from bucket '{bucketName}' up to stream sequence {built.BucketSource!.StreamSequence}, {built.Collisions} hash collisions, {built.Bytes} bytes",
                    $"{built.Path} was written", cancellationToken).ConfigureAwait(false);
                return ExitCodes.Success;
            }

            var fromDatabase = database.IsGiven(parse);
            var basePath = parse.GetValue(baseSnapshot);
            var csv = basePath is null ? parse.GetValue(consent) : parse.GetValue(changes);
            var purposeList = parse.GetValue(purposes)!;
            if (basePath is null && parse.GetValue(changes) is not null)
            {
                throw new UsageException("--changes needs --base SNAPSHOT (the snapshot the changes apply to)");
            }

            if (basePath is not null && (parse.GetValue(consent) is not null || (csv is null) == !fromDatabase))
            {
                throw new UsageException("--base: give the changed rows with one of --changes CSV or --consent-db CONNECTION with --consent-query SQL (not --consent)");
            }

            if ((csv is null) == !fromDatabase)
            {
                throw new UsageException("give one of --consent CSV, --consent-db CONNECTION with --consent-query SQL, or --consent-kv BUCKET");
            }

            var options = new SnapshotBuildOptions { KeepMergeState = parse.GetValue(mergeable), Base = basePath };
            if (basePath is not null && parse.GetResult(purposes) is null or { Implicit: true })
            {
                // Without --purpose, a delta build holds the base's purposes (given ones must match them).
                using var existing = CompiledSnapshot.Open(basePath, verifyChecksum: false);
                purposeList = [.. existing.Purposes];
            }
            if (parse.GetValue(memory) is { } size)
            {
                options.MemoryBudget = ConsentDatabaseOptions.ParseSize(size, "--memory");
                if (options.MemoryBudget < SnapshotBuildOptions.MinimumMemoryBudget)
                {
                    throw new UsageException($"--memory: at least {SnapshotBuildOptions.MinimumMemoryBudget >> 20}MiB");
                }
            }

            if (parse.GetValue(asOf) is { } text)
            {
                options.AsOf = DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                    ? t
                    : throw new UsageException($"--as-of: '{text}' is not an ISO 8601 time");
            }

            // --base is not checked against --out: the base is read through a handle opened first and the output replaces it
            // atomically, so updating a snapshot in place is safe.
            RunPaths.Check([("--consent", parse.GetValue(consent)), ("--changes", parse.GetValue(changes))], ("--out", parse.GetValue(output)));
            // The bounded-memory build: rows stream into sorted runs, merged into the file (docs/consent-at-scale.md); with
            // --base, merged with the base's stored states in one pass (docs/consent-at-scale.md#daily-deltas).
            var summary = fromDatabase
                ? database.Build(parse, parse.GetValue(output)!, purposeList, options, cancellationToken)
                : CompiledSnapshotBuilder.BuildFromCsv(csv!, parse.GetValue(output)!, purposeList, options, cancellationToken);
            await ConsoleApp.PrintAfterCommitAsync(
                stdout,
                $"{summary.Path}: {summary.Users} users, {summary.Rows} rows, {summary.Conflicts} conflicts, {summary.Collisions} hash collisions, {summary.Bytes} bytes",
                $"{summary.Path} was written", cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Diff(TextWriter stdout, TextWriter stderr)
    {
        var before = new Option<string>("--before") { Description = "The older consent CSV.", Required = true, HelpName = "CSV" };
        var after = new Option<string>("--after") { Description = "The newer consent CSV.", Required = true, HelpName = "CSV" };
        var jurisdictions = CommonOptions.Jurisdictions();
        var purpose = CommonOptions.Purpose();
        var output = new Option<string?>("--out") { Description = "Write the CSV here (atomically) instead of standard output.", HelpName = "PATH" };
        var hashKeyFile = new Option<string?>("--hash-key") { Description = "File holding an HMAC key: list HMAC-SHA256 hex of ids instead of raw ids.", HelpName = "PATH" };
        var command = new Command("diff", "List users whose decision went from allowed to not allowed (revoked) and the reverse.\n\nExample:\n  consentfilter snapshot diff --before consent-2026-10.csv --after consent-2026-11.csv --out revoked.csv")
        {
            before, after, jurisdictions, purpose, output, hashKeyFile,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var purposeName = parse.GetValue(purpose)!;
            RunPaths.Check(
                [("--before", parse.GetValue(before)), ("--after", parse.GetValue(after)), ("--jurisdictions", parse.GetValue(jurisdictions)), ("--hash-key", parse.GetValue(hashKeyFile))],
                ("--out", parse.GetValue(output)));
            var table = parse.GetValue(jurisdictions) is { } path ? JurisdictionTable.LoadFile(path) : JurisdictionTable.BuiltIn;
            var a = ConsentSnapshot.LoadCsv(parse.GetValue(before)!, [purposeName]);
            var b = ConsentSnapshot.LoadCsv(parse.GetValue(after)!, [purposeName]);
            var key = parse.GetValue(hashKeyFile) is { } keyFile ? System.Text.Encoding.UTF8.GetBytes(File.ReadAllText(keyFile).Trim()) : null;
            var changes = SnapshotDiff.Compare(a, b, table, purposeName);

            var csv = new System.Text.StringBuilder(key is null ? "user_id,change,before,after\n" : "user_hmac_sha256,change,before,after\n");
            foreach (var change in changes)
            {
                var id = key is null ? Quote(System.Text.Encoding.UTF8.GetString(change.UserId)) : Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(key, change.UserId));
                csv.Append(id).Append(',')
                    .Append(change.Kind == DecisionChangeKind.Revoked ? "revoked" : "allowed").Append(',')
                    .Append(change.Before.Reason.ToName()).Append(',')
                    .Append(change.After.Reason.ToName()).Append('\n');
            }

            if (parse.GetValue(output) is { } outPath)
            {
                await using var file = ConsentFilter.IO.AtomicFile.Create(outPath);
                await file.Stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(csv.ToString()), cancellationToken).ConfigureAwait(false);
                await file.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await stdout.WriteAsync(csv.ToString()).ConfigureAwait(false);
            }

            var revoked = changes.Count(c => c.Kind == DecisionChangeKind.Revoked);
            await stderr.WriteLineAsync($"{revoked} revoked, {changes.Count - revoked} newly allowed, of {a.Info.Users} users before and {b.Info.Users} after").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 || value != value.Trim() ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    private static Command Info(TextWriter stdout)
    {
        var file = new Argument<string>("SNAPSHOT") { Description = "A compiled snapshot file." };
        var command = new Command("info", "Describe a compiled snapshot (verifies its checksum).\n\nExample:\n  consentfilter snapshot info consent.snap") { file };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var snapshot = CompiledSnapshot.Open(parse.GetValue(file)!);
            var info = snapshot.Info;
            await stdout.WriteLineAsync($"file: {parse.GetValue(file)}").ConfigureAwait(false);
            if (snapshot.Origin is { } origin)
            {
                await stdout.WriteLineAsync($"source: {origin}").ConfigureAwait(false);
            }

            await stdout.WriteLineAsync($"format version: {snapshot.Version}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"merge state: {(snapshot.HasMergeState ? "yes (can be a --base)" : "no")}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"users: {info.Users}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"rows: {info.Rows}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"conflicts: {info.Conflicts}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"hash collisions: {snapshot.Collisions}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"as of: {(info.AsOf is { } a ? a.ToString("O", CultureInfo.InvariantCulture) : "none")}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"purposes: {string.Join(", ", snapshot.Purposes)}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"source sha256: {info.Sha256}").ConfigureAwait(false);
            if (snapshot.BucketSource is { } source)
            {
                await stdout.WriteLineAsync($"bucket: {source.Bucket}").ConfigureAwait(false);
                await stdout.WriteLineAsync($"stream sequence: {source.StreamSequence}").ConfigureAwait(false);
                await stdout.WriteLineAsync($"stream created: {source.StreamCreated.ToString("O", CultureInfo.InvariantCulture)}").ConfigureAwait(false);
            }

            await stdout.WriteLineAsync($"bytes: {snapshot.FileBytes}").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
