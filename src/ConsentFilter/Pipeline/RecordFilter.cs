using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Internal;
using ConsentFilter.IO;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Records;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConsentFilter.Pipeline;

/// <summary>Filters user-content records against consent: the library's entry point and what the CLI calls.</summary>
/// <example>
/// <code>
/// var filter = RecordFilter.Load("consent.csv", jurisdictionsPath: null, new ConsentFilterOptions());
/// var report = await filter.RunToFilesAsync(["records.jsonl"], new FilterFileOutputs("kept.jsonl"));
/// </code>
/// </example>
public sealed class RecordFilter : IDisposable
{
    private readonly ConsentFilterOptions _options;
    private IDisposable? _ownedSnapshot;

    /// <summary>Creates a filter from a policy and options.</summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid (every problem listed).</exception>
    public RecordFilter(ConsentPolicy policy, ConsentFilterOptions options)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        ConsentFilterOptionsValidator.ThrowIfInvalid(options);
        Policy = policy;
        _options = options;
    }

    /// <summary>The decision rules, snapshot and table this filter applies.</summary>
    public ConsentPolicy Policy { get; }

    /// <summary>Logs each run's start, totals and failure (never record content or raw ids).</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>Receives progress after each written batch, in input order; null for none.</summary>
    public IProgress<FilterProgress>? Progress { get; set; }

    /// <summary>The file operations of <see cref="RunToFilesAsync"/>; tests replace it to inject faults.</summary>
    internal IFileSystem FileSystem { get; set; } = PhysicalFileSystem.Instance;

    /// <summary>Releases a snapshot this filter opened itself (<see cref="Load"/>); a policy passed in stays the caller's.</summary>
    public void Dispose()
    {
        _ownedSnapshot?.Dispose();
        _ownedSnapshot = null;
    }

    /// <summary>
    /// Above this many users a loaded CSV or Parquet snapshot is searched as loaded: compiling needs ~100 bytes a user of
    /// transient memory on top of the loaded form, and at that size a compiled file (<c>snapshot build</c>) is the
    /// better choice anyway.
    /// </summary>
    internal const int MaxUsersCompiledInMemory = 20_000_000;

    /// <summary>Opens the consent snapshot (CSV or compiled) and jurisdiction table (built-in when <paramref name="jurisdictionsPath"/> is null).</summary>
    /// <exception cref="DataFileException">A file is unreadable or invalid, or the snapshot is older than allowed.</exception>
    public static RecordFilter Load(string consentPath, string? jurisdictionsPath, ConsentFilterOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ConsentFilterOptionsValidator.ThrowIfInvalid(options);
        var snapshot = SnapshotFiles.OpenForLookups(consentPath, [options.Purpose]);
        if (snapshot is ConsentSnapshot { Users.Count: <= MaxUsersCompiledInMemory } loaded
            && CompiledSnapshotBuilder.CompileInMemory(loaded) is { } compiled)
        {
            // A CSV or Parquet snapshot is searched in the compiled layout (16 bytes a user, prefetched lookups; see
            // docs/performance.md); its decisions are the same (CompiledSnapshotTests) and its Info is the source's.
            // A snapshot the format cannot hold (too many distinct home-region sets) is searched as loaded.
            snapshot = compiled;
        }

        try
        {
            // A dated table speaks for one day: the option's, else the snapshot's as-of day, else today.
            var day = options.JurisdictionsAsOf ?? (snapshot.Info.AsOf is { } asOf ? DateOnly.FromDateTime(asOf.UtcDateTime) : null);
            var table = jurisdictionsPath is null ? JurisdictionTable.BuiltIn : JurisdictionTable.LoadFile(jurisdictionsPath, day);
            CheckSnapshotAge(snapshot.Info, options.MaxSnapshotAge, time ?? TimeProvider.System);
            return new RecordFilter(new ConsentPolicy(snapshot, table, options.Purpose, options.UnknownUsers), options) { _ownedSnapshot = snapshot as IDisposable };
        }
        catch
        {
            (snapshot as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>Refuses a snapshot older than <paramref name="maxAge"/> (or undated, when a maximum is set).</summary>
    public static void CheckSnapshotAge(SnapshotInfo info, TimeSpan? maxAge, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(time);
        if (maxAge is not { } limit)
        {
            return;
        }

        if (info.AsOf is not { } asOf)
        {
            throw new DataFileException(info.Source, 0, 0, "the snapshot has no as-of time (no updated_at), so its age cannot be checked against the maximum age");
        }

        var age = time.GetUtcNow() - asOf;
        if (age > limit)
        {
            throw new DataFileException(info.Source, 0, 0, $"the snapshot is {age.TotalHours:F1} h old (as of {asOf:O}), older than the maximum age {limit}");
        }
    }

    /// <summary>Filters <paramref name="inputs"/> into streams. The caller owns the streams and decides what to commit.</summary>
    /// <remarks>
    /// On failure or cancellation the exception propagates and the streams may hold partial data: commit them only when
    /// this method returns. <see cref="RunToFilesAsync"/> does that for files.
    /// </remarks>
    public Task<FilterReport> RunAsync(IReadOnlyList<RecordInput> inputs, FilterOutputs outputs, CancellationToken cancellationToken = default) =>
        RunCoreAsync(inputs, outputs, null, cancellationToken);

    private async Task<FilterReport> RunCoreAsync(
        IReadOnlyList<RecordInput> inputs, FilterOutputs outputs, UserSummaryHasher? userSummary, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        using var activity = Telemetry.ConsentFilterTelemetry.ActivitySource.StartActivity("consentfilter.filter");
        activity?.SetTag("consentfilter.purpose", Policy.Purpose);
        activity?.SetTag("consentfilter.inputs", inputs.Count);
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var format = RecordFormats.ForRun(inputs, _options.RecordFormat);
        activity?.SetTag("consentfilter.format", RecordFormats.Name(format.Format));
        var pipeline = new FilterPipeline(Policy, _options, format, Progress);
        var key = _options.UserIdHashKey is null ? null : Encoding.UTF8.GetBytes(_options.UserIdHashKey);
        Log.RunStarted(Logger, inputs.Count, Policy.Purpose, Policy.Snapshot.Info.Users);
        RunCounts[] perInput;
        try
        {
            perInput = await pipeline.RunAsync(inputs, outputs.Kept, outputs.Rejections, outputs.Quarantine, key, userSummary, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Asked for, not a failure: a warning, so alerting on errors does not page for a pre-empted job.
            Log.RunCancelled(Logger);
            throw;
        }
        catch (Exception e)
        {
            Log.RunFailed(Logger, e.GetType().Name, e.Message);
            throw;
        }

        await outputs.Kept.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (outputs.Rejections is not null)
        {
            await outputs.Rejections.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        if (outputs.Quarantine is not null)
        {
            await outputs.Quarantine.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        var report = new FilterReport(Policy, _options, inputs, perInput, pipeline.Contents, started, clock.Elapsed) { Summary = pipeline.Summary };
        if (!report.IsConserved)
        {
            throw new InvalidOperationException("internal error: report counts do not add up; nothing is committed");
        }

        Log.RunFinished(Logger, report.Totals.Records, report.Totals.Kept, report.Totals.DroppedTotal, report.Totals.QuarantinedTotal, clock.Elapsed.TotalSeconds);
        activity?.SetTag("consentfilter.records", report.Totals.Records);
        activity?.SetTag("consentfilter.kept", report.Totals.Kept);
        activity?.SetTag("consentfilter.dropped", report.Totals.DroppedTotal);
        activity?.SetTag("consentfilter.quarantined", report.Totals.QuarantinedTotal);

        return report;
    }

    /// <summary>A report of a run over no input (a task of a sharded run that was assigned no file).</summary>
    public FilterReport CreateEmptyReport() => new(Policy, _options, [], [], [], DateTimeOffset.UtcNow, TimeSpan.Zero);

    /// <summary>Filters files into files, committing every output atomically only when the whole run succeeded.</summary>
    /// <remarks>
    /// The outputs are committed together, the report last as the completion marker: a failure or cancellation at any
    /// point leaves every final path as it was before the run (docs/reliability.md). An output named <c>-</c> is
    /// standard output and cannot be withheld: a failed run's exit code must be checked.
    /// </remarks>
    /// <exception cref="PathConflictException">An output is an input (records, consent, jurisdictions) or another output; nothing was read or written.</exception>
    public async Task<FilterReport> RunToFilesAsync(IReadOnlyList<string> inputPaths, FilterFileOutputs outputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputPaths);
        ArgumentNullException.ThrowIfNull(outputs);
        var fileSystem = FileSystem;
        var format = RecordFormats.ForRun([.. inputPaths.Select(p => RecordInput.FromFile(p, fileSystem))], _options.RecordFormat);
        if (!format.WritesToPipes && outputs.Output == IO.RecordFiles.StandardStream)
        {
            throw new DataFileException(outputs.Output, 0, 0, $"{RecordFormats.Name(format.Format)} records are written to a file, not standard output");
        }

        // A manifest sits beside a file the run replaces: never beside standard output, a device (/dev/null), a FIFO or a
        // descriptor (/dev/fd/N), where "beside" is /dev or /dev/fd and there is no file to re-digest later.
        var replacesFile = outputs.Output != IO.RecordFiles.StandardStream && !IO.SpecialFiles.WrittenInPlace(outputs.Output);
        var manifest = _options.WriteManifest && replacesFile;
        FileRunPaths.Check(Policy, inputPaths, outputs, manifest);
        // Each digest is fed by the reader (an input) or the writer (the output) as the bytes pass, hashed in place or on
        // a task of its own by the machine's core count (StreamDigest.Create); standard input is not a file anyone can
        // re-digest, so it gets none.
        using var outputDigest = manifest ? StreamDigest.Create(RunManifest.Digest) : null;
        var inputDigests = inputPaths.Select(path => manifest && path != IO.RecordFiles.StandardStream ? StreamDigest.Create(RunManifest.Digest) : null).ToArray();
        try
        {
            var inputs = inputPaths.Select((path, i) => inputDigests[i] is { } digest ? RecordInput.FromFile(path, fileSystem, digest) : RecordInput.FromFile(path, fileSystem)).ToArray();
            await using var kept = OutputFile.Open(outputs.Output, fileSystem, outputDigest);
            await using var rejections = outputs.Rejections is null ? null : OutputFile.Open(outputs.Rejections, fileSystem);
            await using var quarantine = outputs.Quarantine is null ? null : OutputFile.Open(outputs.Quarantine, fileSystem);
            await using var reportFile = outputs.Report is null ? null : OutputFile.Open(outputs.Report, fileSystem);

            var summaryKey = SummaryKey(out var keyIsSecret);
            var report = await RunCoreAsync(inputs, new FilterOutputs(kept.Stream, rejections?.Stream, quarantine?.Stream),
                manifest ? new UserSummaryHasher(summaryKey) : null, cancellationToken).ConfigureAwait(false);
            // The summary needs nothing from the commit: it is sorted while the outputs below are written and synced.
            var summary = manifest ? SortedSummary.Start(report.Summary ?? new OutputSummary()) : null;
            if (reportFile is not null)
            {
                report.WriteJson(reportFile.Stream);
            }

            // Phase 1: every output complete, on disk and closed; still nothing at a final path. Standard output waits.
            OutputFile[] all = [.. new[] { kept, rejections, quarantine, reportFile }.OfType<OutputFile>()];
            foreach (var output in all.Where(o => o.File is not null))
            {
                await output.PrepareAsync(cancellationToken).ConfigureAwait(false);
            }

            // The manifest describes the output as committed (digested after its compressed trailer), in the same commit.
            // A digest that failed or was cancelled throws here: no manifest, nothing published.
            await using var manifestFile = manifest ? AtomicFile.Create(RunManifest.PathFor(outputs.Output), fileSystem) : null;
            if (manifestFile is not null)
            {
                var outputDigestHex = await outputDigest!.CompleteAsync(cancellationToken).ConfigureAwait(false);
                var inputDigestHex = new string[inputDigests.Length];
                for (var i = 0; i < inputDigests.Length; i++)
                {
                    inputDigestHex[i] = inputDigests[i] is { } digest ? await digest.CompleteAsync(cancellationToken).ConfigureAwait(false) : "";
                }

                await RunManifest.WriteAsync(manifestFile.Stream, report, outputDigestHex, inputDigestHex, summaryKey, summary!, keyIsSecret, cancellationToken).ConfigureAwait(false);
                await manifestFile.PrepareAsync(cancellationToken).ConfigureAwait(false);
            }

            // The last moment a cancellation withdraws the run.
            cancellationToken.ThrowIfCancellationRequested();

            // What goes to standard output cannot be withdrawn once written, so its last bytes and a printed report go out
            // only now, when nothing but the renames below can still fail: a report saying "complete" is never followed by
            // a full disk or a cancellation. A failure to write them still withdraws the run.
            foreach (var output in all.Where(o => o.File is null))
            {
                await output.PrepareAsync(cancellationToken).ConfigureAwait(false);
            }

            if (outputs.ReportText is { } text)
            {
                using var json = new MemoryStream();
                report.WriteJson(json);
                await text.WriteLineAsync(Encoding.UTF8.GetString(json.GetBuffer(), 0, (int)json.Length)).ConfigureAwait(false);
                await text.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }

            // Phase 2 publishes all or rolls back: data, manifest, report last.
            AtomicFile?[] order = [kept.File, rejections?.File, quarantine?.File, manifestFile, reportFile?.File];
            AtomicCommit.Publish([.. order.OfType<AtomicFile>()], fileSystem);
            if (!manifest && replacesFile)
            {
                RetireStaleManifest(outputs, fileSystem);
            }

            return report;
        }
        finally
        {
            foreach (var digest in inputDigests)
            {
                digest?.Dispose();
            }
        }
    }

    /// <summary>
    /// Deletes an older run's manifest beside an output just replaced without one: left there, it would describe data
    /// that is gone (verify fails on it; purge, which also checks, would otherwise have trusted its user summary).
    /// </summary>
    /// <remarks>
    /// After the commit, best effort: a manifest that stays (deletion failed, or a crash in between) no longer matches
    /// the output's digest, which verify and purge check. A file there that is another
    /// output of this run, or not a manifest, is left alone.
    /// </remarks>
    private static void RetireStaleManifest(FilterFileOutputs outputs, IFileSystem fileSystem)
    {
        try
        {
            var path = RunManifest.PathFor(outputs.Output);
            if (fileSystem.Exists(path)
                && !FileRunPaths.Outputs(outputs, manifest: false).Any(o => o.Path != IO.RecordFiles.StandardStream && IO.PathIdentity.IsSameFile(o.Path, path))
                && RunManifest.IsManifest(path))
            {
                AtomicCommit.TryDelete(fileSystem, path);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The run is committed: nothing here may turn it into a failure (see the remarks).
        }
    }

    /// <summary>
    /// The key of the manifest's user summary: derived from the HMAC key when one is set (and then not stored), else
    /// from the snapshot's fingerprint (and stored), so reruns give byte-identical manifests and one purge check serves
    /// every output of a snapshot.
    /// </summary>
    private ulong SummaryKey(out bool isSecret)
    {
        isSecret = _options.UserIdHashKey is not null;
        var material = isSecret
            ? SHA256.HashData(Encoding.UTF8.GetBytes("consentfilter.manifest.users:" + _options.UserIdHashKey))
            : SHA256.HashData(Encoding.UTF8.GetBytes("consentfilter.manifest.users.seed:" + Policy.Snapshot.Info.Sha256));
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(material);
    }


    /// <summary>Decides each record of one input as it streams, for embedding in an ETL job.</summary>
    /// <remarks>
    /// Single-threaded and in input order; every record yields exactly one result (blank lines and a CSV header none).
    /// The token is checked before each result: nothing is yielded once it is cancelled. Counts reach the meter
    /// (<see cref="Telemetry.ConsentFilterTelemetry"/>) batch by batch, as in file runs.
    /// </remarks>
    public async IAsyncEnumerable<RecordResult> DecideAsync(RecordInput input, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var format = RecordFormats.ForRun([input], _options.RecordFormat);
        var run = new RunFormatState(_options);
        var worker = format.CreateWorker(new WorkerContext(Policy, _options, FilterPipeline.CreatePaths(_options), new AuditSettings(false, false, null), [input.Name]));
        var reader = await format.OpenReaderAsync(input, 0, run, cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
            {
                try
                {
                    worker.Process(batch, compact: false);
                    RunMetrics.Record(batch.Counts, batch.InputBytes);
                    for (var i = 0; i < batch.RecordCount; i++)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        if (batch.Result(i) is { } result)
                        {
                            yield return result;
                        }
                    }
                }
                finally
                {
                    batch.Release();
                }
            }
        }
    }
}

/// <summary>Streams a run writes to; the caller owns them.</summary>
/// <param name="Kept">Kept lines, byte for byte, each ending in LF.</param>
/// <param name="Rejections">Rejection log (JSONL), or null.</param>
/// <param name="Quarantine">Quarantine (JSONL), or null.</param>
public sealed record FilterOutputs(Stream Kept, Stream? Rejections = null, Stream? Quarantine = null);

/// <summary>Paths a file run writes; each is committed atomically. <c>-</c> for <paramref name="Output"/> is standard output.</summary>
/// <param name="Output">Kept records.</param>
/// <param name="Rejections">Rejection log, or null.</param>
/// <param name="Quarantine">Quarantine file, or null.</param>
/// <param name="Report">Report JSON, or null.</param>
public sealed record FilterFileOutputs(string Output, string? Rejections = null, string? Quarantine = null, string? Report = null)
{
    /// <summary>
    /// Where the report is also written as text (indented JSON and a line break), such as a command's standard output.
    /// It is written once every output (and the manifest) is complete and the run can no longer be cancelled, just
    /// before the outputs are committed: if writing it fails (a closed pipe, a full disk), nothing is committed.
    /// </summary>
    public TextWriter? ReportText { get; init; }
}

/// <summary>What happened to one record.</summary>
public enum RecordOutcome
{
    /// <summary>Written to the output.</summary>
    Kept,

    /// <summary>Dropped by a decision.</summary>
    Dropped,

    /// <summary>Malformed; quarantined.</summary>
    Quarantined,
}

/// <summary>One record's result from <see cref="RecordFilter.DecideAsync"/>.</summary>
/// <param name="LineNumber">1-based physical line number where the record starts (the row number for columnar formats).</param>
/// <param name="Outcome">Kept, dropped or quarantined.</param>
/// <param name="Verdict">The decision (for kept and dropped records).</param>
/// <param name="Error">The malformed kind (for quarantined records).</param>
/// <param name="Line">The record's bytes without its line ending (empty for a too-long line and for columnar rows).</param>
public sealed record RecordResult(long LineNumber, RecordOutcome Outcome, RecordVerdict Verdict, MalformedKind Error, ReadOnlyMemory<byte> Line);
