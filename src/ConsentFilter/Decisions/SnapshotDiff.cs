using ConsentFilter.Consent;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Decisions;

/// <summary>Which users' decisions changed between two snapshots (revocation deltas).</summary>
/// <remarks>
/// A user's decision is judged in every region context a record can bring: no record region, each code of the table,
/// and a code the table does not list. A user is <b>revoked</b> when some context went from allowed to not allowed, and
/// <b>newly allowed</b> when some context went the other way (a user can be both). Judging every context is the
/// fail-closed reading: a purge driven by this list misses no record that the new snapshot drops.
/// Both snapshots must hold raw ids (CSV form); a compiled snapshot keeps only hashes.
/// </remarks>
public static class SnapshotDiff
{
    /// <summary>Compares <paramref name="before"/> and <paramref name="after"/> for one purpose under one table.</summary>
    public static IReadOnlyList<DecisionChange> Compare(
        ConsentSnapshot before, ConsentSnapshot after, JurisdictionTable jurisdictions, string purpose, UnknownUserPolicy unknownUsers = UnknownUserPolicy.Drop)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        ArgumentNullException.ThrowIfNull(jurisdictions);
        var was = new ConsentPolicy(before, jurisdictions, purpose, unknownUsers);
        var now = new ConsentPolicy(after, jurisdictions, purpose, unknownUsers);
        RegionMatch?[] contexts =
        [
            null,
            .. jurisdictions.Rows.Keys.Where(code => code != RegionCode.Default).Order(StringComparer.Ordinal).Select(code => (RegionMatch?)was.ResolveRegion(code)),
            was.ResolveRegion("ZZ-NOT-LISTED"),
        ];

        var users = before.Users.Keys.Union(after.Users.Keys, Internal.ByteArrayComparer.Instance)
            .Order(Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)));
        var changes = new List<DecisionChange>();
        foreach (var user in users)
        {
            SubjectVerdict? revokedFrom = null, revokedTo = null, allowedFrom = null, allowedTo = null;
            foreach (var context in contexts)
            {
                var a = was.Decide(user, context);
                var b = now.Decide(user, context);
                if (a.IsAllowed && !b.IsAllowed && revokedTo is null)
                {
                    (revokedFrom, revokedTo) = (a, b);
                }
                else if (!a.IsAllowed && b.IsAllowed && allowedTo is null)
                {
                    (allowedFrom, allowedTo) = (a, b);
                }
            }

            if (revokedTo is not null)
            {
                changes.Add(new DecisionChange(user, DecisionChangeKind.Revoked, revokedFrom!.Value, revokedTo.Value));
            }

            if (allowedTo is not null)
            {
                changes.Add(new DecisionChange(user, DecisionChangeKind.NewlyAllowed, allowedFrom!.Value, allowedTo.Value));
            }
        }

        return changes;
    }
}

/// <summary>How a user's decision changed.</summary>
public enum DecisionChangeKind
{
    /// <summary>Allowed before, not allowed now (in at least one region context).</summary>
    Revoked,

    /// <summary>Not allowed before, allowed now (in at least one region context).</summary>
    NewlyAllowed,
}

/// <summary>One user's change between two snapshots.</summary>
/// <param name="UserId">The user id's exact bytes.</param>
/// <param name="Kind">Revoked or newly allowed.</param>
/// <param name="Before">The decision before (in the first context that changed).</param>
/// <param name="After">The decision now, with the new reason when revoked.</param>
public sealed record DecisionChange(byte[] UserId, DecisionChangeKind Kind, SubjectVerdict Before, SubjectVerdict After);
