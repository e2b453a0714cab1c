using System.CommandLine;
using System.Globalization;
using ConsentFilter.Consent;

namespace ConsentFilter.Cli;

/// <summary><c>consentfilter snapshot build|info</c>: compile a consent CSV into the memory-mapped form, and describe one.</summary>
internal static class SnapshotCommand
{
    public static Command Create(TextWriter stdout)
    {
        var command = new Command("snapshot", "Compile a consent CSV into a memory-mapped snapshot, or describe one.");
        command.Add(Build(stdout));
        command.Add(Info(stdout));
        return command;
    }

    private static Command Build(TextWriter stdout)
    {
        var consent = CommonOptions.Consent();
        var output = new Option<string>("--out") { Description = "The compiled snapshot file (written atomically).", Required = true, HelpName = "SNAPSHOT" };
        var purposes = new Option<string[]>("--purpose")
        {
            Description = "Purpose to hold (repeatable, at most 7).",
            DefaultValueFactory = _ => ["ai_training"],
            HelpName = "P",
        };
        var asOf = new Option<string?>("--as-of") { Description = "As-of time (ISO 8601) instead of the newest updated_at.", HelpName = "TIME" };
        var command = new Command("build", "Compile a consent CSV.\n\nExample:\n  consentfilter snapshot build --consent samples/consent.csv --out consent.snap")
        {
            consent, output, purposes, asOf,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            DateTimeOffset? asOfTime = null;
            if (parse.GetValue(asOf) is { } text)
            {
                asOfTime = DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                    ? t
                    : throw new UsageException($"--as-of: '{text}' is not an ISO 8601 time");
            }

            var source = ConsentSnapshot.LoadCsv(parse.GetValue(consent)!, parse.GetValue(purposes)!, asOfTime);
            var summary = CompiledSnapshotBuilder.Build(source, parse.GetValue(output)!);
            await stdout.WriteLineAsync(
                $"{summary.Path}: {summary.Users} users, {summary.Rows} rows, {summary.Conflicts} conflicts, {summary.Collisions} hash collisions, {summary.Bytes} bytes")
                .ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Info(TextWriter stdout)
    {
        var file = new Argument<string>("SNAPSHOT") { Description = "A compiled snapshot file." };
        var command = new Command("info", "Describe a compiled snapshot (verifies its checksum).\n\nExample:\n  consentfilter snapshot info consent.snap") { file };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var snapshot = CompiledSnapshot.Open(parse.GetValue(file)!);
            var info = snapshot.Info;
            await stdout.WriteLineAsync($"file: {info.Source}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"format version: {CompiledSnapshot.FormatVersion}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"users: {info.Users}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"rows: {info.Rows}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"conflicts: {info.Conflicts}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"hash collisions: {snapshot.Collisions}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"as of: {(info.AsOf is { } a ? a.ToString("O", CultureInfo.InvariantCulture) : "none")}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"purposes: {string.Join(", ", snapshot.Purposes)}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"source sha256: {info.Sha256}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"bytes: {snapshot.FileBytes}").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
