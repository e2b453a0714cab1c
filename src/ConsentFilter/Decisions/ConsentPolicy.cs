using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Decisions;

/// <summary>The decision of SPEC 3 for one purpose: the only place the rules live; every path calls it.</summary>
/// <remarks>Immutable and thread-safe; deciding a subject allocates nothing.</remarks>
public sealed class ConsentPolicy
{
    private readonly IConsentSnapshot _snapshot;

    // The snapshot as its concrete type when it is the compiled one (every CLI run's): a direct call per subject
    // instead of an interface dispatch, and home regions resolved once per shared array.
    private readonly CompiledSnapshot? _compiled;
    private readonly HomeRegionCache? _homes;
    private readonly int _purposeIndex;

    /// <summary>Creates the policy.</summary>
    /// <exception cref="ArgumentException">The snapshot does not hold <paramref name="purpose"/>.</exception>
    public ConsentPolicy(IConsentSnapshot snapshot, JurisdictionTable jurisdictions, string purpose, UnknownUserPolicy unknownUsers = UnknownUserPolicy.Drop)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(jurisdictions);
        ArgumentException.ThrowIfNullOrWhiteSpace(purpose);
        _snapshot = snapshot;
        _compiled = snapshot as CompiledSnapshot;
        _homes = _compiled is null ? null : new HomeRegionCache(jurisdictions);
        Jurisdictions = jurisdictions;
        Purpose = purpose;
        UnknownUsers = unknownUsers;
        _purposeIndex = -1;
        for (var i = 0; i < snapshot.Purposes.Count; i++)
        {
            if (string.Equals(snapshot.Purposes[i], purpose, StringComparison.OrdinalIgnoreCase))
            {
                _purposeIndex = i;
            }
        }

        if (_purposeIndex < 0)
        {
            throw new ArgumentException(
                $"the consent snapshot {snapshot.Info.Source} does not hold purpose '{purpose}' (it holds: {string.Join(", ", snapshot.Purposes)})",
                nameof(purpose));
        }
    }

    /// <summary>The purpose decided.</summary>
    public string Purpose { get; }

    /// <summary>The jurisdiction table used.</summary>
    public JurisdictionTable Jurisdictions { get; }

    /// <summary>What happens to users the snapshot does not hold.</summary>
    public UnknownUserPolicy UnknownUsers { get; }

    /// <summary>The snapshot used.</summary>
    public IConsentSnapshot Snapshot => _snapshot;

    /// <summary>Resolves a record's region as found (any case, untrimmed) against the table.</summary>
    /// <remarks><c>us-ca</c> resolves like <c>US-CA</c>; a region that is not plain ASCII resolves to the most restrictive of its readings (SPEC 2.1).</remarks>
    public RegionMatch ResolveRegion(ReadOnlySpan<char> region)
    {
        var regime = Jurisdictions.Resolve(region, out var code);
        return new RegionMatch(regime, code);
    }

    /// <summary>
    /// Decides one record from fields the caller already holds (the typed-row API): the author, the record's region as
    /// found (any case, untrimmed; normalized here exactly as a record's), and the co-subjects in order — the same
    /// decision every record format gets.
    /// </summary>
    /// <param name="userId">The author's user id, compared exactly.</param>
    /// <param name="region">The record's region, or null when it has none.</param>
    /// <param name="coSubjects">Co-subject user ids, each of which must be allowed too; null for none.</param>
    /// <returns>The verdict: kept, or the first failing subject's reason (author 0, co-subjects from 1).</returns>
    /// <exception cref="ArgumentException">An id is empty (a record without a usable id is malformed, not decided).</exception>
    public RecordVerdict DecideRecord(string userId, string? region, IReadOnlyList<string>? coSubjects)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var ids = new byte[coSubjects?.Count ?? 0][];
        for (var i = 0; i < ids.Length; i++)
        {
            ArgumentException.ThrowIfNullOrEmpty(coSubjects![i], nameof(coSubjects));
            ids[i] = Encoding.UTF8.GetBytes(coSubjects[i]);
        }

        return DecideRecord(Encoding.UTF8.GetBytes(userId), region, ids);
    }

    /// <summary>As <see cref="DecideRecord(string, string?, IReadOnlyList{string}?)"/>, with ids as their exact UTF-8 bytes (no decoding, no copy of the author).</summary>
    /// <param name="userId">The author's user id as UTF-8 bytes.</param>
    /// <param name="region">The record's region, or null when it has none.</param>
    /// <param name="coSubjects">Co-subject ids as UTF-8 bytes; null for none.</param>
    /// <exception cref="ArgumentException">An id is empty.</exception>
    public RecordVerdict DecideRecord(ReadOnlySpan<byte> userId, string? region, IReadOnlyList<byte[]>? coSubjects)
    {
        if (userId.IsEmpty)
        {
            throw new ArgumentException("a user id must not be empty (such a record is malformed: missing_user_id)", nameof(userId));
        }

        if (coSubjects is not null && coSubjects.Any(id => id is null || id.Length == 0))
        {
            throw new ArgumentException("a co-subject id must not be empty (such a record is malformed: bad_subject_type)", nameof(coSubjects));
        }

        var subjects = new RecordDecision.ByteArraySubjects(coSubjects ?? []);
        return RecordDecision.Decide(this, userId, RecordDecision.ResolveRegion(this, region), ref subjects);
    }

    /// <summary>Decides one subject.</summary>
    /// <param name="userId">The exact UTF-8 bytes of the user id.</param>
    /// <param name="recordRegion">The record's region resolved with <see cref="ResolveRegion"/>, or null when the record has none.</param>
    public SubjectVerdict Decide(ReadOnlySpan<byte> userId, RegionMatch? recordRegion) => Decide(userId, recordRegion, null);

    /// <summary>Decides one user and records every step that led to the result.</summary>
    /// <param name="userId">The user id as text.</param>
    /// <param name="recordRegion">A record region (any case, untrimmed), or null.</param>
    public Explanation Explain(string userId, string? recordRegion)
    {
        ArgumentNullException.ThrowIfNull(userId);
        var steps = new List<string>();
        RegionMatch? region = null;
        if (recordRegion is not null)
        {
            var normalized = RegionCode.Normalize(recordRegion);
            region = ResolveRegion(recordRegion);
            steps.Add($"record region '{normalized}'{ReadingsNote(normalized)} → table code '{region.Value.Code}' ({region.Value.Regime.ToName()})");
        }
        else
        {
            steps.Add("record region: none");
        }

        var verdict = Decide(Encoding.UTF8.GetBytes(userId), region, steps);
        return new Explanation(userId, Purpose, verdict, steps);
    }

    private SubjectVerdict Decide(ReadOnlySpan<byte> userId, RegionMatch? recordRegion, List<string>? trace)
    {
        // Step 1: the user must be known (or, by option, is judged as unset with no home region).
        if (!(_compiled is { } compiled ? compiled.TryGetUser(userId, out var consent) : _snapshot.TryGetUser(userId, out consent)))
        {
            if (UnknownUsers == UnknownUserPolicy.Drop)
            {
                trace?.Add("1. user not in the snapshot → dropped: unknown_user");
                return new SubjectVerdict(DropReason.UnknownUser, ApplicableRegime([], recordRegion, null));
            }

            trace?.Add("1. user not in the snapshot; policy treat-as-unset: consent unset, no home region");
            consent = UserConsent.UnknownAsUnset;
        }
        else
        {
            trace?.Add($"1. user found: consent {consent.States[_purposeIndex].ToName()} for '{Purpose}', gpc {Bool(consent.Gpc)}, minor {Bool(consent.Minor)}, home regions [{string.Join(", ", consent.HomeRegions)}]");
        }

        // Step 3 is computed first so every verdict names its deciding region; the order of drops is unchanged.
        var region = ApplicableRegime(consent.HomeRegions, recordRegion, null);

        // Step 2.
        if (consent.Minor)
        {
            trace?.Add("2. minor → dropped: minor");
            return new SubjectVerdict(DropReason.Minor, region);
        }

        if (trace is not null)
        {
            trace.Add("2. not a minor");
            ApplicableRegime(consent.HomeRegions, recordRegion, trace);
        }

        // Step 4. Each step is traced once, passed or not, so the explanation numbers its steps 1, 2, 3, … in order.
        if (region.Regime == Regime.Excluded)
        {
            trace?.Add("4. regime excluded → dropped: region_excluded");
            return new SubjectVerdict(DropReason.RegionExcluded, region);
        }

        trace?.Add($"4. regime {region.Regime.ToName()}: not excluded");
        var state = consent.States[_purposeIndex];

        // Step 5: a denial counts in every regime. A value past Denied (none is defined; a snapshot implementation's bug)
        // counts as one: whatever it meant, it is not a grant.
        if (state >= ConsentState.Denied)
        {
            trace?.Add("5. consent denied → dropped: opted_out");
            return new SubjectVerdict(DropReason.OptedOut, region);
        }

        trace?.Add($"5. consent {state.ToName()}: not denied");

        // Step 6.
        if (region.Regime == Regime.OptIn && state != ConsentState.Granted)
        {
            trace?.Add($"6. opt-in regime and consent {state.ToName()} → dropped: no_opt_in");
            return new SubjectVerdict(DropReason.NoOptIn, region);
        }

        trace?.Add(region.Regime == Regime.OptIn ? "6. opt-in regime and consent granted" : $"6. {region.Regime.ToName()} regime: no opt-in needed");

        // Step 7: an explicit grant beats the GPC signal.
        if (region.Regime == Regime.OptOut && state == ConsentState.Unset && consent.Gpc)
        {
            trace?.Add("7. opt-out regime, consent unset and GPC signal → dropped: gpc_opt_out");
            return new SubjectVerdict(DropReason.GpcOptOut, region);
        }

        trace?.Add(consent.Gpc ? "7. GPC signal set but not applied (an explicit choice or a regime other than opt-out)" : "7. no GPC signal");

        trace?.Add($"8. {region.Regime.ToName()} regime with consent {state.ToName()}{(consent.Gpc ? " (GPC ignored: explicit grant)" : string.Empty)} → allowed");
        return new SubjectVerdict(DropReason.None, region);
    }

    /// <summary>Step 3: the most restrictive regime of the home regions and the record's region; none → <c>*</c>.</summary>
    private RegionMatch ApplicableRegime(string[] homeRegions, RegionMatch? recordRegion, List<string>? trace)
    {
        var homes = trace is null ? null : new List<string>();
        RegionMatch? strictest = homeRegions.Length == 0 ? null
            : _homes is not null && trace is null ? _homes.Strictest(homeRegions)
            : HomeRegionCache.Resolve(Jurisdictions, homeRegions, homes);

        if (recordRegion is { } record && (strictest is null || record.Regime > strictest.Value.Regime))
        {
            strictest = record;
        }

        var result = strictest ?? new RegionMatch(Jurisdictions.DefaultRegime, RegionCode.Default);
        if (trace is not null)
        {
            var source = strictest is null ? "no region applies → '*'" : "most restrictive of the regions that apply";
            trace.Add($"3. {source}: regime {result.Regime.ToName()} (table code '{result.Code}')");
            trace.AddRange(homes!);
        }

        return result;
    }

    private static string Bool(bool value) => value ? "true" : "false";

    internal static string ReadingsNote(string normalizedRegion) =>
        RegionCode.IsPlain(normalizedRegion) ? string.Empty : " (not plain ASCII: the most restrictive of its readings)";
}

/// <summary>A decision with every step that led to it, for <c>consentfilter explain</c>.</summary>
/// <param name="UserId">The user id asked about.</param>
/// <param name="Purpose">The purpose decided.</param>
/// <param name="Verdict">The decision.</param>
/// <param name="Steps">Human-readable steps in order.</param>
public sealed record Explanation(string UserId, string Purpose, SubjectVerdict Verdict, IReadOnlyList<string> Steps);
