using System.CommandLine;
using System.Runtime.InteropServices;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Streaming;
using NATS.Client.Core;

namespace ConsentFilter.Cli;

/// <summary><c>consentfilter stream</c> and <c>consentfilter snapshot publish</c>: the NATS JetStream mode (docs/streaming.md).</summary>
internal static class StreamCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var nats = Nats();
        var input = new Option<string>("--input") { Description = "Input stream and its one filter subject (a wildcard is fine; quote it in a shell: 'RECORDS/records.>').", Required = true, HelpName = "STREAM/SUBJECT" };
        var output = new Option<string>("--output") { Description = "Subject kept records are published to (captured by a stream with a duplicate window).", Required = true, HelpName = "SUBJECT" };
        var bucket = new Option<string>("--consent-kv") { Description = "Key-value bucket holding the consent rows (snapshot publish).", Required = true, HelpName = "BUCKET" };
        var jurisdictions = CommonOptions.Jurisdictions();
        var purpose = CommonOptions.Purpose();
        var subjectFields = new Option<string[]>("--subject-field") { Description = "Co-subject field (repeatable); every co-subject must pass too.", HelpName = "F" };
        var quarantine = new Option<string?>("--quarantine-subject") { Description = "Subject malformed records are published to; omitted: only counted.", HelpName = "SUBJECT" };
        var durable = new Option<string>("--durable") { Description = "Durable pull consumer shared by every worker.", DefaultValueFactory = _ => StreamFilterDefaults.Durable, HelpName = "NAME" };
        var consentBase = new Option<string?>("--consent-base")
        {
            Description = "Compiled snapshot to start from (snapshot build --consent-kv, or from a CSV); only the bucket's changes since it are read. Refused, exit 2, when the two cannot be joined.",
            HelpName = "SNAPSHOT",
        };
        var baseMargin = new Option<string?>("--base-margin") { Description = "For a base compiled from a CSV: read the bucket's changes from this long before its as-of time (default 5m).", HelpName = "DURATION" };
        var maxBaseAge = new Option<string?>("--max-base-age") { Description = "Refuse a --consent-base older than this (e.g. 36h, 7d).", HelpName = "AGE" };
        var command = new Command("stream", "Filter records arriving on a NATS JetStream stream until Ctrl+C or SIGTERM; prints the counts on exit.\n\nExamples:\n  consentfilter stream --nats nats://127.0.0.1:4222 --input 'RECORDS/records.>' --output kept --consent-kv consent\n  consentfilter stream --nats nats://127.0.0.1:4222 --input 'RECORDS/records.>' --output kept --consent-kv consent --consent-base consent.snap")
        {
            nats, input, output, bucket, jurisdictions, purpose, subjectFields, quarantine, durable, consentBase, baseMargin, maxBaseAge,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var inputText = parse.GetValue(input)!;
            var slash = inputText.IndexOf('/', StringComparison.Ordinal);
            var options = new StreamFilterOptions
            {
                InputStream = slash < 0 ? inputText : inputText[..slash],
                InputSubject = slash < 0 ? string.Empty : inputText[(slash + 1)..],
                OutputSubject = parse.GetValue(output)!,
                QuarantineSubject = parse.GetValue(quarantine),
                Durable = parse.GetValue(durable)!,
            };
            foreach (var field in parse.GetValue(subjectFields) ?? [])
            {
                options.SubjectFields.Add(field);
            }

            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }

            var basePath = parse.GetValue(consentBase);
            var overlayOptions = new KvOverlayOptions
            {
                StartMargin = CommonOptions.ParseDuration(parse.GetValue(baseMargin), "--base-margin", allowZero: true) ?? KvOverlayDefaults.StartMargin,
                MaxBaseAge = CommonOptions.ParseDuration(parse.GetValue(maxBaseAge), "--max-base-age"),
            };
            if (basePath is null && (parse.GetValue(baseMargin) is not null || parse.GetValue(maxBaseAge) is not null))
            {
                throw new UsageException("--base-margin and --max-base-age apply only with --consent-base");
            }

            var table = parse.GetValue(jurisdictions) is { } path ? JurisdictionTable.LoadFile(path) : JurisdictionTable.BuiltIn;
            var purposeName = parse.GetValue(purpose)!;
            using var baseSnapshot = basePath is null ? null : CompiledSnapshot.Open(basePath);

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            });

            await using var connection = new NatsConnection(new NatsOpts { Url = parse.GetValue(nats)!, Name = "consentfilter-stream" });
            await connection.ConnectAsync().ConfigureAwait(false);
            IConsentSnapshot snapshot;
            IAsyncDisposable following;
            if (baseSnapshot is null)
            {
                var kv = KvConsentSnapshot.Start(connection, parse.GetValue(bucket)!, [purposeName]);
                (snapshot, following) = (kv, kv);
                await stderr.WriteLineAsync($"consentfilter: loading consent bucket '{parse.GetValue(bucket)}'; nothing is decided before it is loaded").ConfigureAwait(false);
            }
            else
            {
                var overlay = await KvOverlaySnapshot.StartAsync(connection, parse.GetValue(bucket)!, baseSnapshot, [purposeName], overlayOptions, stop.Token).ConfigureAwait(false);
                (snapshot, following) = (overlay, overlay);
                await stderr.WriteLineAsync(
                    $"consentfilter: {basePath} + consent bucket '{parse.GetValue(bucket)}' from stream sequence {overlay.StartSequence}; nothing is decided before it has caught up")
                    .ConfigureAwait(false);
            }

            await using var stopFollowing = following.ConfigureAwait(false);
            var worker = new StreamFilterWorker(connection, new ConsentPolicy(snapshot, table, purposeName), options);
            try
            {
                await worker.RunAsync(stop.Token).ConfigureAwait(false);
            }
            finally
            {
                await stdout.WriteLineAsync(worker.Counts.ToJson()).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>snapshot publish</c>: writes every user of a consent CSV into the bucket.</summary>
    public static Command Publish(TextWriter stdout)
    {
        var nats = Nats();
        var consent = new Option<string>("--consent") { Description = "Consent CSV (duplicate rows are merged as for a filter run).", Required = true, HelpName = "CSV" };
        var bucket = new Option<string>("--bucket") { Description = "Key-value bucket (created when missing).", Required = true, HelpName = "BUCKET" };
        var purposes = new Option<string[]>("--purpose")
        {
            Description = "Purpose to publish (repeatable).",
            DefaultValueFactory = _ => [Pipeline.ConsentFilterDefaults.Purpose],
            HelpName = "P",
        };
        var command = new Command("publish", "Write every user of a consent CSV into a NATS key-value bucket for consentfilter stream.\n\nExample:\n  consentfilter snapshot publish --nats nats://127.0.0.1:4222 --consent samples/consent.csv --bucket consent")
        {
            nats, consent, bucket, purposes,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var source = ConsentSnapshot.LoadCsv(parse.GetValue(consent)!, parse.GetValue(purposes)!);
            await using var connection = new NatsConnection(new NatsOpts { Url = parse.GetValue(nats)!, Name = "consentfilter-publish" });
            await connection.ConnectAsync().ConfigureAwait(false);
            var written = await ConsentKv.PublishAsync(connection, parse.GetValue(bucket)!, source, cancellationToken: cancellationToken).ConfigureAwait(false);
            await ConsoleApp.PrintAfterCommitAsync(
                stdout, $"{parse.GetValue(bucket)}: {written} users written ({source.Info.Rows} rows, {source.Info.Conflicts} conflicts)",
                $"bucket '{parse.GetValue(bucket)}' was written", cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Option<string> Nats() => new("--nats") { Description = "NATS server URL.", Required = true, HelpName = "URL" };
}
