using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Pipeline;

/// <summary>Counts by region equal a plain tally, whatever the codes' instances and their order.</summary>
public sealed class RunCountsTests
{
    // Codes that share memory slots (same length and ends), and equal codes as separate string instances.
    private static readonly string[] s_codes = ["US", "UK", "US-CA", "US-TX", "UA", "*", "DE", "DK", "FR", "CN", "CA", "JP"];

    [Property(MaxTest = 200)]
    public Property ByRegion_EqualsATally() => Prop.ForAll(
        Gen.ArrayOf(
            from index in Gen.Choose(0, s_codes.Length - 1)
            from kept in Gen.Elements(true, false)
            from copy in Gen.Elements(true, false)
            select (index, kept, copy)).ToArbitrary(),
        operations =>
        {
            var counts = new RunCounts();
            var tally = new Dictionary<string, (long Kept, long Dropped)>(StringComparer.Ordinal);
            foreach (var (index, kept, copy) in operations)
            {
                var code = copy ? new string(s_codes[index].AsSpan()) : s_codes[index];
                var (k, d) = tally.GetValueOrDefault(code);
                if (kept)
                {
                    counts.AddKept(code);
                    tally[code] = (k + 1, d);
                }
                else
                {
                    counts.AddDropped(DropReason.Minor, code);
                    tally[code] = (k, d + 1);
                }
            }

            var actual = counts.ByRegion.ToDictionary(p => p.Key, p => (p.Value.Kept, p.Value.Dropped), StringComparer.Ordinal);
            return (actual.Count == tally.Count && tally.All(p => actual.TryGetValue(p.Key, out var a) && a == p.Value))
                .Label(string.Join(", ", actual.Select(p => $"{p.Key}={p.Value}")));
        });
}
