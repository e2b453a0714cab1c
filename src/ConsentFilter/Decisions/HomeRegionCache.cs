using System.Runtime.CompilerServices;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Decisions;

/// <summary>The strictest regime among a user's home regions, resolved once per distinct array of them.</summary>
/// <remarks>
/// A compiled snapshot hands out one shared array per distinct set of home regions (a few hundred sets for millions of
/// users), so a subject's home regions can be resolved by the array's identity: a reference compare instead of a trim,
/// a case check and a table lookup per region per subject (the lookup alone was ~0.8 % of a run's CPU). Workers share
/// the cache without locks: an entry is immutable and is published by one reference write. An entry also keeps the
/// elements the array held when it was resolved, and a hit needs the same elements, so a snapshot that refills one
/// array for different users is resolved afresh rather than from another user's entry (fail-closed whatever the
/// snapshot implementation).
/// </remarks>
internal sealed class HomeRegionCache(JurisdictionTable jurisdictions)
{
    private const int Slots = 64;

    private readonly Entry?[] _entries = new Entry?[Slots];

    /// <summary>The strictest of <paramref name="homeRegions"/> (at least one), as <see cref="Resolve"/> gives it.</summary>
    internal RegionMatch Strictest(string[] homeRegions)
    {
        ref var slot = ref _entries[RuntimeHelpers.GetHashCode(homeRegions) & (Slots - 1)];
        var entry = Volatile.Read(ref slot);
        if (entry is not null && entry.Matches(homeRegions))
        {
            return entry.Strictest;
        }

        var strictest = Resolve(jurisdictions, homeRegions, null);
        Volatile.Write(ref slot, new Entry(homeRegions, [.. homeRegions], strictest));
        return strictest;
    }

    /// <summary>The strictest of <paramref name="homeRegions"/> (at least one): the first of equally strict ones names the
    /// code. When <paramref name="trace"/> is not null, one line per home region is added to it (the explain path).</summary>
    internal static RegionMatch Resolve(JurisdictionTable jurisdictions, string[] homeRegions, List<string>? trace)
    {
        RegionMatch? strictest = null;
        foreach (var home in homeRegions)
        {
            var regime = jurisdictions.Resolve(home, out var code);
            trace?.Add($"   home region '{home}'{ConsentPolicy.ReadingsNote(home)} → table code '{code}' ({regime.ToName()})");
            if (strictest is null || regime > strictest.Value.Regime)
            {
                strictest = new RegionMatch(regime, code);
            }
        }

        return strictest ?? throw new ArgumentException("internal error: no home region to resolve", nameof(homeRegions));
    }

    private sealed class Entry(string[] array, string[] elements, RegionMatch strictest)
    {
        internal RegionMatch Strictest => strictest;

        internal bool Matches(string[] homeRegions)
        {
            if (!ReferenceEquals(homeRegions, array) || homeRegions.Length != elements.Length)
            {
                return false;
            }

            for (var i = 0; i < elements.Length; i++)
            {
                if (!ReferenceEquals(homeRegions[i], elements[i]))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
