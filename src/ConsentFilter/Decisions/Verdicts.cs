using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Decisions;

/// <summary>What the jurisdiction table says for the regions that apply to one subject.</summary>
/// <param name="Regime">The most restrictive regime of the regions that apply.</param>
/// <param name="Code">The table code that decided it (a region, its country, or <c>*</c>).</param>
public readonly record struct RegionMatch(Regime Regime, string Code);

/// <summary>The decision for one subject user.</summary>
/// <param name="Reason">Why the subject is not allowed, or <see cref="DropReason.None"/>.</param>
/// <param name="Region">The regime that applied and the table code that decided it.</param>
public readonly record struct SubjectVerdict(DropReason Reason, RegionMatch Region)
{
    /// <summary>Whether the subject allows use of the record.</summary>
    public bool IsAllowed => Reason == DropReason.None;
}

/// <summary>The decision for a record: kept only if its author and every co-subject are allowed.</summary>
/// <param name="Reason">The first failing subject's reason, or <see cref="DropReason.None"/> when kept.</param>
/// <param name="Subject">0 for the author, 1-based index of the co-subject otherwise (the failing one, or 0 when kept).</param>
/// <param name="Region">The regime and table code for the failing subject (the author when kept).</param>
public readonly record struct RecordVerdict(DropReason Reason, int Subject, RegionMatch Region)
{
    /// <summary>Whether the record is kept.</summary>
    public bool IsKept => Reason == DropReason.None;
}
