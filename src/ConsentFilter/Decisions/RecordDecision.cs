using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Decisions;

/// <summary>The ids of a record's co-subjects, in order, as exact UTF-8 bytes.</summary>
/// <remarks>
/// A format adapter implements it over its own representation (offsets into a JSON line or a CSV row, a column of a
/// row group), so the record decision reads every format without copying ids. A span returned by the indexer is valid
/// until the next call.
/// </remarks>
internal interface ISubjectIds
{
    int Count { get; }

    ReadOnlySpan<byte> this[int index] { get; }
}

/// <summary>
/// The record-level decision of SPEC 3 over extracted fields: author first, then co-subjects in order, the first failing
/// subject deciding. Every format and the typed-row API call it; it knows no record format.
/// </summary>
internal static class RecordDecision
{
    /// <summary>A raw record region (any case, untrimmed, as found) resolved against the table; null when absent.</summary>
    internal static RegionMatch? ResolveRegion(ConsentPolicy policy, string? region) =>
        region is null ? null : policy.ResolveRegion(region);

    internal static RecordVerdict Decide<TSubjects>(ConsentPolicy policy, ReadOnlySpan<byte> author, RegionMatch? recordRegion, scoped ref TSubjects subjects)
        where TSubjects : ISubjectIds, allows ref struct
    {
        var verdict = policy.Decide(author, recordRegion);
        if (!verdict.IsAllowed)
        {
            return new RecordVerdict(verdict.Reason, 0, verdict.Region);
        }

        var count = subjects.Count;
        for (var i = 0; i < count; i++)
        {
            var subject = policy.Decide(subjects[i], recordRegion);
            if (!subject.IsAllowed)
            {
                return new RecordVerdict(subject.Reason, i + 1, subject.Region);
            }
        }

        return new RecordVerdict(DropReason.None, 0, verdict.Region);
    }

    /// <summary>Co-subjects held as byte arrays.</summary>
    internal readonly struct ByteArraySubjects(IReadOnlyList<byte[]> ids) : ISubjectIds
    {
        public int Count => ids.Count;

        public ReadOnlySpan<byte> this[int index] => ids[index];
    }

    /// <summary>No co-subjects.</summary>
    internal readonly struct NoSubjects : ISubjectIds
    {
        public int Count => 0;

        public ReadOnlySpan<byte> this[int index] => throw new ArgumentOutOfRangeException(nameof(index));
    }
}
