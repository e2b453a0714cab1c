using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Pipeline;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Decisions;

/// <summary>diff(A, B) lists exactly the users with a record the full filter keeps under one snapshot and drops under the other.</summary>
public sealed class SnapshotDiffTests
{
    private static readonly string[] s_regions = ["", "DE", "US", "US-CA", "CN", "ZZ"];
    private static readonly string[] s_consent = ["granted", "denied", ""];
    private static readonly JurisdictionTable s_table =
        JurisdictionTable.Load("code,regime\nDE,opt-in\nUS,opt-out\nUS-CA,opt-out\nCN,excluded\n*,excluded\n"u8, "t.csv");

    [Property(MaxTest = 40)]
    public Property Diff_IsExactlyTheUsersWhoseRecordsChangeFate() => Prop.ForAll(
        Gen.Choose(0, 1_000_000).ToArbitrary(),
        seed =>
        {
            var random = new Random(seed);
            var ids = Enumerable.Range(0, 25).Select(i => $"u{i}").ToList();
            var a = Snapshot(random, ids.Where(_ => random.Next(8) > 0));
            var b = Snapshot(random, ids.Where(_ => random.Next(8) > 0));
            var changes = SnapshotDiff.Compare(a, b, s_table, "ai_training");

            // One record per user and region context, decided by the whole filter under each snapshot.
            var contexts = new string?[] { null, "DE", "US", "US-CA", "CN", "ZZ-NOT-LISTED" };
            var lines = ids.SelectMany(id => contexts.Select(region =>
                region is null ? $"{{\"user_id\":\"{id}\"}}" : $"{{\"user_id\":\"{id}\",\"region\":\"{region}\"}}")).ToList();
            var keptA = Kept(a, lines);
            var keptB = Kept(b, lines);
            var revoked = lines.Where((_, i) => keptA[i] && !keptB[i]).Select(UserOf).ToHashSet();
            var allowed = lines.Where((_, i) => !keptA[i] && keptB[i]).Select(UserOf).ToHashSet();

            return revoked.SetEquals(changes.Where(c => c.Kind == DecisionChangeKind.Revoked).Select(c => Encoding.UTF8.GetString(c.UserId)))
                && allowed.SetEquals(changes.Where(c => c.Kind == DecisionChangeKind.NewlyAllowed).Select(c => Encoding.UTF8.GetString(c.UserId)))
                && changes.Where(c => c.Kind == DecisionChangeKind.Revoked).All(c => c.Before.IsAllowed && !c.After.IsAllowed);
        });

    private static string UserOf(string line) => line.Split('"')[3];

    private static bool[] Kept(ConsentSnapshot snapshot, List<string> lines)
    {
        var filter = new RecordFilter(new ConsentPolicy(snapshot, s_table, "ai_training"), new ConsentFilterOptions { MaxDegreeOfParallelism = 1 });
        var results = filter.DecideAsync(RecordInput.FromStream(new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', lines))), "r.jsonl"))
            .ToBlockingEnumerable().ToList();
        return [.. results.Select(r => r.Outcome == RecordOutcome.Kept)];
    }

    private static ConsentSnapshot Snapshot(Random random, IEnumerable<string> ids)
    {
        var csv = new StringBuilder("user_id,region,ai_training,gpc,minor\n");
        foreach (var id in ids)
        {
            csv.Append(CultureInvariant($"{id},{s_regions[random.Next(s_regions.Length)]},{s_consent[random.Next(3)]},{(random.Next(4) == 0 ? "true" : "")},{(random.Next(10) == 0 ? "true" : "")}\n"));
        }

        return ConsentSnapshot.LoadCsv(new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())), "c.csv", ["ai_training"]);
    }

    private static string CultureInvariant(FormattableString text) => text.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
