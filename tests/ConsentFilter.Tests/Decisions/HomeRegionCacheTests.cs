using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Decisions;

/// <summary>Home regions resolved through the cache resolve exactly as without it, whatever the arrays and their reuse.</summary>
public sealed class HomeRegionCacheTests
{
    private static readonly JurisdictionTable s_table =
        JurisdictionTable.Load("code,regime\nDE,opt-in\nUS,opt-out\nUS-CA,opt-in\nCN,excluded\nFR,opt-in\nBR,opt-out\n*,opt-out\n"u8, "t.csv");

    // Plain codes, subdivisions, lower case, white space, codes the table lacks, and non-ASCII readings.
    private static readonly string[] s_regions = ["DE", "US", "US-CA", "us-ca", " CN ", "FR", "BR", "JP", "ＣＮ", "de-by", "XX-1", "ſy"];

    [Property(MaxTest = 200)]
    public Property Strictest_EqualsResolvingAfresh_OverManyArraysSharingSlots() => Prop.ForAll(
        Gen.ArrayOf(Gen.ArrayOf(Gen.Elements(s_regions)).Select(a => a.Take(3).ToArray()).Where(a => a.Length > 0)).Select(a => a.Take(150).ToArray()).ToArbitrary(),
        Gen.ArrayOf(Gen.Choose(0, 1000)).ToArbitrary(),
        (arrays, picks) =>
        {
            // More arrays than the cache has slots, each asked for many times in any order: every answer must equal
            // resolving its elements without the cache.
            if (arrays.Length == 0)
            {
                return true.ToProperty();
            }

            var cache = new HomeRegionCache(s_table);
            foreach (var pick in picks.Concat(Enumerable.Range(0, 2 * arrays.Length)))
            {
                var homes = arrays[pick % arrays.Length];
                var expected = HomeRegionCache.Resolve(s_table, homes, null);
                var actual = cache.Strictest(homes);
                if (actual != expected)
                {
                    return false.Label($"[{string.Join(",", homes)}] gave {actual}, expected {expected}");
                }
            }

            return true.ToProperty();
        });

    [Fact]
    public void Strictest_FromManyThreads_OverMoreArraysThanSlots_EqualsResolvingAfresh()
    {
        // Thousands of distinct arrays (far past the slots and their probes, so most are resolved without a slot) asked
        // from several threads at once, each many times: every answer must equal resolving without the cache.
        var cache = new HomeRegionCache(s_table);
        var arrays = Enumerable.Range(0, 3000)
            .Select(i => new[] { s_regions[i % s_regions.Length], s_regions[(i / s_regions.Length) % s_regions.Length] })
            .ToArray();
        var wrong = 0;
        Parallel.For(0, 4 * arrays.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            var homes = arrays[(k * 7919) % arrays.Length];
            if (cache.Strictest(homes) != HomeRegionCache.Resolve(s_table, homes, null))
            {
                Interlocked.Increment(ref wrong);
            }
        });

        Assert.Equal(0, wrong);
    }

    [Fact]
    public void Strictest_OfAnArrayRefilledWithOtherRegions_IsResolvedAgain()
    {
        // A snapshot implementation may reuse one array for different users: an entry for its old elements must not
        // answer for its new ones (here: opt-out US, then excluded CN in the same array).
        var cache = new HomeRegionCache(s_table);
        var homes = new[] { "US" };
        Assert.Equal(Regime.OptOut, cache.Strictest(homes).Regime);

        homes[0] = "CN";
        var refilled = cache.Strictest(homes);
        Assert.Equal(Regime.Excluded, refilled.Regime);
        Assert.Equal("CN", refilled.Code);
    }

    [Fact]
    public void Resolve_NamesTheFirstOfEquallyStrictRegions_AndTracesEachOne()
    {
        var trace = new List<string>();
        var match = HomeRegionCache.Resolve(s_table, ["FR", "DE", "US"], trace);
        Assert.Equal(new RegionMatch(Regime.OptIn, "FR"), match);
        Assert.Equal(3, trace.Count);
        Assert.Contains("'DE'", trace[1]);
    }
}
