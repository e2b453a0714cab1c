using ConsentFilter.Pipeline;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Pipeline;

/// <summary>A summary's region set holds exactly the distinct regions added since it was last emptied.</summary>
public sealed class OutputSummaryTests
{
    [Property(MaxTest = 200)]
    public Property Regions_AreTheDistinctRegionsAdded_AcrossReusedBatches() => Prop.ForAll(
        Gen.ArrayOf(Gen.ArrayOf(RegionGen())).ToArbitrary(),
        batches =>
        {
            // Regions of equal length and shared first, middle or last character (so they share memory slots), none,
            // and one summary reused for batch after batch as the pool does.
            var summary = new OutputSummary();
            foreach (var regions in batches)
            {
                foreach (var region in regions)
                {
                    summary.AddRegion(region);
                }

                var expected = new HashSet<string>(regions, StringComparer.Ordinal);
                if (!summary.Regions.SetEquals(expected))
                {
                    return false.Label($"[{string.Join("|", regions)}] gave [{string.Join("|", summary.Regions)}]");
                }

                summary.ClearBatch();
            }

            return true.ToProperty();
        });

    private static Gen<string> RegionGen() => Gen.OneOf(
        Gen.Constant(string.Empty),
        from first in Gen.Elements('A', 'B', 'Q')
        from second in Gen.Elements('A', 'B', 'Q')
        from subdivision in Gen.Elements(string.Empty, "-1", "-CA", "-B")
        select $"={first}{second}{subdivision}");
}
