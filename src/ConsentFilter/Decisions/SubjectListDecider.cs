using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Decisions;

/// <summary>
/// Applies <see cref="ConsentPolicy"/> to a record whose fields are already extracted (CSV and Parquet rows): author
/// first, then co-subjects in order, the first failing subject deciding, exactly as <see cref="RecordDecider"/> does
/// for JSON lines.
/// </summary>
internal static class SubjectListDecider
{
    /// <summary>The record's region resolved against the table; null when the record has none.</summary>
    /// <param name="policy">The policy whose table resolves the code.</param>
    /// <param name="region">The region text as found (any case, untrimmed), or null when absent.</param>
    internal static RegionMatch? ResolveRegion(ConsentPolicy policy, string? region) =>
        region is null ? null : policy.ResolveRegion(region);

    /// <summary>Decides a record from its author's id bytes, its resolved region and its co-subjects' id bytes.</summary>
    internal static RecordVerdict Decide(ConsentPolicy policy, ReadOnlySpan<byte> author, RegionMatch? recordRegion, IReadOnlyList<byte[]> coSubjects)
    {
        var verdict = policy.Decide(author, recordRegion);
        if (!verdict.IsAllowed)
        {
            return new RecordVerdict(verdict.Reason, 0, verdict.Region);
        }

        for (var i = 0; i < coSubjects.Count; i++)
        {
            var subject = policy.Decide(coSubjects[i], recordRegion);
            if (!subject.IsAllowed)
            {
                return new RecordVerdict(subject.Reason, i + 1, subject.Region);
            }
        }

        return new RecordVerdict(DropReason.None, 0, verdict.Region);
    }
}
