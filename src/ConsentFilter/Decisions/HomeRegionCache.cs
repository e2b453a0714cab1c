using System.Runtime.CompilerServices;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Decisions;

/// <summary>The strictest regime among a user's home regions, resolved once per distinct array of them.</summary>
/// <remarks>
/// A compiled snapshot hands out one shared array per distinct set of home regions (a few hundred sets for millions of
/// users), so a subject's home regions can be resolved by the array's identity: a reference compare instead of a trim,
/// a case check and a table lookup per region per subject (the lookup alone was ~0.8 % of a run's CPU). Workers share
/// the cache without locks: an entry is immutable and claims an empty slot by one compare-exchange. An entry also keeps the
/// elements the array held when it was resolved, and a hit needs the same elements, so a snapshot that refills one
/// array for different users is resolved afresh rather than from another user's entry (fail-closed whatever the
/// snapshot implementation).
/// </remarks>
internal sealed class HomeRegionCache(JurisdictionTable jurisdictions)
{
    // Open addressing, entries never replaced: once the few sets a run meets are in, the table is only read, so the
    // cores' copies of it stay valid. (Direct-mapped slots that replaced on collision made two sets that shared a slot
    // evict each other on every other subject, each time writing a line the other core then had to fetch again.)
    private const int Slots = 256;
    private const int Probes = 8;

    private readonly Entry?[] _entries = new Entry?[Slots];

    /// <summary>The strictest of <paramref name="homeRegions"/> (at least one), as <see cref="Resolve"/> gives it.</summary>
    internal RegionMatch Strictest(string[] homeRegions)
    {
        var start = RuntimeHelpers.GetHashCode(homeRegions);
        for (var probe = 0; probe < Probes; probe++)
        {
            ref var slot = ref _entries[(start + probe) & (Slots - 1)];
            var entry = Volatile.Read(ref slot);
            if (entry is null)
            {
                // Not cached: resolve, and claim this slot unless another worker just did (either way the answer stands).
                var strictest = Resolve(jurisdictions, homeRegions, null);
                Interlocked.CompareExchange(ref slot, new Entry(homeRegions, [.. homeRegions], strictest), null);
                return strictest;
            }

            if (entry.Matches(homeRegions))
            {
                return entry.Strictest;
            }
        }

        // Every slot this array may use holds another: resolved each time (more distinct sets than a run should meet).
        return Resolve(jurisdictions, homeRegions, null);
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
