using System.Globalization;
using System.Text.Json.Nodes;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Provenance;

/// <summary>
/// Removes records that may no longer be used from already filtered outputs, re-filtering only the outputs that need it.
/// </summary>
/// <remarks>
/// An output is left untouched (not even rewritten) when, under the new snapshot and table, every (user, record region)
/// of its kept records is still allowed and the failing (user, record region) of every dropped record is still not;
/// then no record of its inputs can change fate.
/// Otherwise it is filtered again from the inputs its manifest names (so newly allowed records come back too) and
/// replaced atomically with a new manifest, when the inputs are regular files that still have the digests the manifest
/// names. An output without a manifest, one whose manifest does not match its bytes, or one whose inputs changed or
/// cannot be read again, is re-filtered from itself, with a warning.
/// The new snapshot must be a CSV: the check needs the raw ids, which a compiled snapshot does not keep.
/// </remarks>
public static class Purge
{
    /// <summary>Purges <paramref name="outputs"/> against the new consent.</summary>
    /// <param name="outputs">Filtered outputs, each with its manifest beside it where it has one.</param>
    /// <param name="newConsentCsv">The new consent CSV.</param>
    /// <param name="jurisdictionsPath">The jurisdiction table, or null for the built-in one.</param>
    /// <param name="secretKey">The key of manifests whose user summary is keyed with a secret.</param>
    /// <param name="fieldsWithoutManifest">
    /// How to read an output that has no manifest: its purpose and user, region and co-subject fields (the run that
    /// wrote it knew them; without them co-subjects would go unread); null for the defaults. An output whose manifest
    /// does not match it is read with that manifest's purpose and fields, plus the co-subject fields given here.
    /// </param>
    /// <param name="cancellationToken">Stops between outputs and inside a re-filtering run.</param>
    public static async Task<PurgeReport> RunAsync(
        IReadOnlyList<string> outputs, string newConsentCsv, string? jurisdictionsPath, ulong? secretKey, ConsentFilterOptions? fieldsWithoutManifest = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var report = new PurgeReport();
        // Keyed by the policy too: outputs of another purpose or table day allow other pairs.
        var allowedByKey = new Dictionary<(ConsentPolicy, ulong, string), HashSet<ulong>>();

        // The new consent and table are loaded once per purpose and policy, not once per output.
        var snapshots = new Dictionary<string, ConsentSnapshot>(StringComparer.Ordinal);
        var policies = new Dictionary<(string, UnknownUserPolicy, DateOnly?), ConsentPolicy>();
        ConsentPolicy PolicyFor(string purpose, UnknownUserPolicy unknownUsers, DateOnly? runDay)
        {
            if (!snapshots.TryGetValue(purpose, out var snapshot))
            {
                snapshot = ConsentSnapshot.LoadCsv(newConsentCsv, [purpose]);
                snapshots.Add(purpose, snapshot);
            }

            // A dated table is read as of the new snapshot's day, but never earlier than the day the run read it (its
            // --as-of): a region excluded since then must stay excluded, whatever the new snapshot's timestamps say.
            var day = snapshot.Info.AsOf is { } asOf ? DateOnly.FromDateTime(asOf.UtcDateTime) : (DateOnly?)null;
            if (runDay is { } run && (day is null || run > day))
            {
                day = run;
            }

            if (!policies.TryGetValue((purpose, unknownUsers, day), out var policy))
            {
                var table = jurisdictionsPath is null ? JurisdictionTable.BuiltIn : JurisdictionTable.LoadFile(jurisdictionsPath, day);
                policy = new ConsentPolicy(snapshot, table, purpose, unknownUsers);
                policies.Add((purpose, unknownUsers, day), policy);
            }

            return policy;
        }

        foreach (var output in outputs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            report.Checked++;
            if (Pipeline.RecordFormats.Detect(output) is var format && !Pipeline.RecordFormats.IsAvailable(format))
            {
                // Purge re-filters the output in its own format; without that format's adapter it cannot be read.
                report.Skipped.Add(output);
                report.Warnings.Add($"{output}: {Pipeline.RecordFormats.Name(format)} outputs need their adapter package to be purged; not changed");
                continue;
            }

            var manifestPath = Manifest.PathFor(output);
            var hasManifest = File.Exists(manifestPath);
            JsonObject? manifest = hasManifest ? Manifest.Read(manifestPath) : null;
            var runDay = manifest?["jurisdictions"]?["as_of"] is JsonValue asOfValue && asOfValue.TryGetValue<string>(out var asOfText)
                && DateOnly.TryParseExact(asOfText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsedDay)
                ? parsedDay
                : (DateOnly?)null;
            string purpose;
            ConsentFilterOptions options;
            // The digest alone decides whether the manifest is this output's (matching bytes make its count theirs too):
            // one read of the output, at the digest's GB/s.
            if (manifest is not null && Manifest.DigestMismatch(output, manifest, manifestPath) is { } mismatch)
            {
                // A manifest that does not describe these bytes (an older run's, beside an output rewritten without one,
                // or an output edited by hand) says nothing about which users the output holds: trusting its summary
                // could leave a record of a user who is no longer allowed. The output is judged on its own records,
                // read with the manifest's purpose and fields (the best word there is on how it was made) and every
                // co-subject field given besides — but neither its summary nor its inputs are used.
                var stale = OptionsFrom(manifest, manifest["purpose"]?.GetValue<string>() ?? ConsentFilterDefaults.Purpose);
                options = WithoutManifest(stale, fieldsWithoutManifest?.SubjectFields ?? []);
                purpose = options.Purpose;
                report.Warnings.Add($"{output}: its manifest does not describe it ({mismatch}); re-filtered from the output itself as {Describe(options)}");
                manifest = null;
            }
            else if (manifest is null)
            {
                options = WithoutManifest(fieldsWithoutManifest ?? new ConsentFilterOptions(), []);
                purpose = options.Purpose;
            }
            else
            {
                purpose = manifest["purpose"]?.GetValue<string>() ?? ConsentFilterDefaults.Purpose;
                options = OptionsFrom(manifest, purpose);
            }

            var filter = new RecordFilter(PolicyFor(purpose, options.UnknownUsers, runDay), options);
            if (manifest is not null)
            {
                var key = manifest["users"]?["seed"]?.GetValue<string>() is { } seed
                    ? ulong.Parse(seed, CultureInfo.InvariantCulture)
                    : secretKey ?? throw new InvalidOperationException($"{manifestPath}: the user summary is keyed with a secret key; pass the same key");
                var regions = manifest["users"]?["regions"]?.AsArray().Select(r => r!.GetValue<string>()).ToList() ?? [];
                var cacheKey = (filter.Policy, key, string.Join('\n', regions));
                if (!allowedByKey.TryGetValue(cacheKey, out var allowed))
                {
                    allowed = AllowedPairs(filter.Policy, new UserSummaryHasher(key), regions);
                    allowedByKey.Add(cacheKey, allowed);
                }

                // Unchanged when every kept (user, region) is still allowed and every dropped record's failing
                // (user, region) is still not: then no record of it changes fate. Unknown users treated as unset
                // cannot be enumerated, so such outputs are always re-filtered.
                if (manifest["users"]?["overflowed"]?.GetValue<bool>() != true
                    && options.UnknownUsers == UnknownUserPolicy.Drop
                    && Manifest.UserHashes(manifest, "kept").All(allowed.Contains)
                    && !Manifest.UserHashes(manifest, "dropped").Any(allowed.Contains))
                {
                    report.Untouched.Add(output);
                    continue;
                }
            }
            else if (!hasManifest)
            {
                report.Warnings.Add($"{output}: no manifest; re-filtered from the output itself as {Describe(options)} (records newly allowed cannot come back)");
            }

            // Which records leave, and why: the old output decided under the new consent.
            var removed = await filter.RunAsync([RecordInput.FromFile(output)], new FilterOutputs(Stream.Null), cancellationToken).ConfigureAwait(false);
            foreach (var reason in DropReasonNames.All)
            {
                report.Removed[reason] = report.Removed.GetValueOrDefault(reason) + removed.Totals.Dropped(reason);
            }

            var inputs = manifest?["inputs"]?.AsArray().Select(i => i!["path"]!.GetValue<string>()).ToList() ?? [];
            var missing = inputs.Count == 0 || !inputs.All(File.Exists);
            // An input re-read must be the one the output was made from: a path the manifest names may now hold another
            // file (changed in place, or a relative path read from another directory), whose records would replace the
            // output's. Its digest decides; a changed input is not used.
            var changed = manifest is not null && !missing ? ChangedInput(manifest, manifestPath) : null;
            if (missing || changed is not null)
            {
                if (manifest is not null)
                {
                    report.Warnings.Add(changed is not null
                        ? $"{output}: {changed}; re-filtered from the output itself"
                        : $"{output}: an input named by the manifest is missing; re-filtered from the output itself");
                }

                // Beside the output, ending in the output's own name so its compression is recognised.
                var copy = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output)) ?? ".", $".purge-{Guid.NewGuid():N}-{Path.GetFileName(output)}");
                File.Copy(output, copy, overwrite: true);
                try
                {
                    await filter.RunToFilesAsync([copy], new FilterFileOutputs(output), cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    File.Delete(copy);
                }
            }
            else
            {
                await filter.RunToFilesAsync(inputs, new FilterFileOutputs(output), cancellationToken).ConfigureAwait(false);
            }

            report.Changed.Add(output);
        }

        return report;
    }

    /// <summary>Keyed hashes of every (user, record region) the new snapshot and table allow.</summary>
    private static HashSet<ulong> AllowedPairs(ConsentPolicy policy, UserSummaryHasher hasher, IReadOnlyList<string> regions)
    {
        if (policy.Snapshot is not ConsentSnapshot snapshot)
        {
            throw new InvalidOperationException("purge needs the new consent as a CSV (a compiled snapshot keeps no raw ids)");
        }

        // Summary regions: empty for a record without region, else '=' and the normalized region.
        var contexts = regions.Select(r => (Region: r, Match: r.Length == 0 ? (RegionMatch?)null : policy.ResolveRegion(r.AsSpan(1)))).ToList();
        var allowed = new HashSet<ulong>();
        foreach (var id in snapshot.Users.Keys)
        {
            foreach (var (region, match) in contexts)
            {
                if (policy.Decide(id, match).IsAllowed)
                {
                    allowed.Add(hasher.Hash(id, region));
                }
            }
        }

        return allowed;
    }

    /// <summary>The first input whose stored bytes no longer match the manifest's digest of them, described; null when all match.</summary>
    private static string? ChangedInput(JsonObject manifest, string manifestPath)
    {
        var digestName = Manifest.DigestName(manifest);
        if (Internal.DigestAlgorithms.Parse(digestName) is not { } algorithm)
        {
            return $"{manifestPath}: unknown digest algorithm '{digestName}'";
        }

        foreach (var input in manifest["inputs"]!.AsArray())
        {
            var path = input!["path"]!.GetValue<string>();
            var expected = input[digestName!] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
            if (string.IsNullOrEmpty(expected))
            {
                return $"the input {path} has no digest in the manifest (standard input?)";
            }

            // A pipe, FIFO or device (/dev/stdin, <(zcat …)) cannot be read again: reading it here would wait for a writer
            // or take another stream's records.
            if (!IO.FileStatus.TryGet(path, out var status) ? !File.Exists(path) : status.Kind != IO.FileKind.Regular)
            {
                return $"the input {path} is not a regular file and cannot be read again";
            }

            if (!string.Equals(expected, Internal.DigestCore.OfFile(path, algorithm), StringComparison.Ordinal))
            {
                return $"the input {path} is not the file the output was made from (its digest differs from the manifest's)";
            }
        }

        return null;
    }

    /// <summary>How an output without a usable manifest is read, for the warning: purpose and fields.</summary>
    private static string Describe(ConsentFilterOptions options) =>
        $"purpose {options.Purpose}, user field {options.UserField}, region field {options.RegionField}, "
        + (options.SubjectFields.Count == 0 ? "no co-subject field" : "co-subject fields " + string.Join(", ", options.SubjectFields));

    /// <summary>The options of a re-filtering without a usable manifest: the fields given, and every co-subject field known.</summary>
    private static ConsentFilterOptions WithoutManifest(ConsentFilterOptions given, IEnumerable<string> moreSubjectFields)
    {
        var options = new ConsentFilterOptions
        {
            Purpose = given.Purpose,
            UserField = given.UserField,
            RegionField = given.RegionField,
            UnknownUsers = given.UnknownUsers,
            MaxLineLength = given.MaxLineLength,
            MaxSubjects = given.MaxSubjects,
        };
        foreach (var field in given.SubjectFields.Concat(moreSubjectFields).Distinct(StringComparer.Ordinal))
        {
            options.SubjectFields.Add(field);
        }

        return options;
    }

    private static ConsentFilterOptions OptionsFrom(JsonObject? manifest, string purpose)
    {
        var options = new ConsentFilterOptions { Purpose = purpose };
        if (manifest?["options"] is not JsonObject o)
        {
            return options;
        }

        options.UserField = o["user_field"]?.GetValue<string>() ?? options.UserField;
        options.RegionField = o["region_field"]?.GetValue<string>() ?? options.RegionField;
        options.UnknownUsers = o["unknown_users"]?.GetValue<string>() == "treat-as-unset" ? UnknownUserPolicy.TreatAsUnset : UnknownUserPolicy.Drop;
        options.MaxLineLength = o["max_line_length"]?.GetValue<int>() ?? options.MaxLineLength;
        options.MaxSubjects = o["max_subjects"]?.GetValue<int>() ?? options.MaxSubjects;
        foreach (var field in o["subject_fields"]?.AsArray() ?? [])
        {
            options.SubjectFields.Add(field!.GetValue<string>());
        }

        return options;
    }
}

/// <summary>What a purge did.</summary>
public sealed class PurgeReport
{
    /// <summary>Outputs examined.</summary>
    public int Checked { get; internal set; }

    /// <summary>Outputs re-filtered and replaced.</summary>
    public IList<string> Changed { get; } = [];

    /// <summary>Outputs that could not be purged (not JSON Lines); the purge is incomplete when this is not empty.</summary>
    public IList<string> Skipped { get; } = [];

    /// <summary>Outputs left as they were (bytes and modification time).</summary>
    public IList<string> Untouched { get; } = [];

    /// <summary>Records removed from the changed outputs, by the new reason.</summary>
    public IReadOnlyDictionary<DropReason, long> RemovedByReason => Removed;

    internal Dictionary<DropReason, long> Removed { get; } = [];

    /// <summary>Outputs handled in a degraded way (no manifest, missing input).</summary>
    public IList<string> Warnings { get; } = [];

    /// <summary>The report as JSON (<c>consentfilter.purge/v1</c>).</summary>
    public JsonObject ToJson()
    {
        var removed = new JsonObject();
        foreach (var reason in DropReasonNames.All)
        {
            removed[reason.ToName()] = RemovedByReason.GetValueOrDefault(reason);
        }

        return new JsonObject
        {
            ["schema"] = "consentfilter.purge/v1",
            ["checked"] = Checked,
            ["changed"] = new JsonArray([.. Changed.Select(c => (JsonNode)c)]),
            ["untouched"] = new JsonArray([.. Untouched.Select(c => (JsonNode)c)]),
            ["skipped"] = new JsonArray([.. Skipped.Select(c => (JsonNode)c)]),
            ["complete"] = Skipped.Count == 0,
            ["removed"] = new JsonObject { ["total"] = RemovedByReason.Values.Sum(), ["by_reason"] = removed },
            ["warnings"] = new JsonArray([.. Warnings.Select(c => (JsonNode)c)]),
        };
    }
}
