using System.Text;
using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Decisions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Pipeline.Formats;

/// <summary>The CSV and columnar workers' region cache answers every cell as resolving it afresh would.</summary>
public sealed class RegionCellCacheTests
{
    /// <summary>More distinct cells than the cache has slots (so entries collide and are replaced): codes, case and space
    /// variants, non-ASCII readings, a NUL byte, cells past 8 bytes, unknown ones.</summary>
    private static readonly string[] s_cells =
    [
        "US", "us", " US ", "US-CA", "us-ca", "US_CA", "DE", "de", "DE-BY", "FR", "GB", "CN", "IR", "ıR", "ſy", "ß", "ＣＮ",
        "ZZ", "XX-YY", "CH", "ch", "NO", "IS", "LI", "BR", "IN", "JP", "KR", "AU", "CA", "CA-QC", "united-states", "ABCDEFGH",
        "ABCDEFG", "ABCDEFGHI", "DEU", "US\0", "U\0S", "1", "12",
    ];

    [Property(MaxTest = 60)]
    public Property Resolve_OneCacheForManyCells_SameAnswerAsAFreshOne() => Prop.ForAll(
        Gen.ArrayOf(Gen.Elements(s_cells)).Select(a => a.Take(300).ToArray()).ToArbitrary(),
        cells =>
        {
            var policy = TestData.Policy(DecisionData.Consent);
            var shared = new RegionCellCache(policy);
            foreach (var cell in cells)
            {
                var bytes = Encoding.UTF8.GetBytes(cell);
                var match = shared.Resolve(bytes, out var summary);
                var expected = RecordDecision.ResolveRegion(policy, cell)!.Value;
                if (match != expected || summary != RecordAudit.SummaryRegion(cell))
                {
                    return false.Label($"'{cell}': {match} '{summary}', expected {expected}");
                }
            }

            return true.ToProperty();
        });
}
