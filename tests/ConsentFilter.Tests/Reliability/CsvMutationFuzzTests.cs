using System.Text;
using System.Text.Json;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Reliability;

/// <summary>
/// Mutation fuzzing of CSV records (issue 12: the fuzz tests cover CSV as they cover JSON). Valid rows of allowed users,
/// interleaved with untouched rows of a denied user, are mutated byte by byte (seeded; quotes, separators, line breaks
/// and multi-byte characters favoured). An independent reading of SPEC 2.1's CSV rules (<see cref="ReferenceCsv"/>)
/// is the oracle: the run sees exactly the records it sees, the counts add up, and every kept record is valid CSV
/// naming only allowed users in an allowing region — so a stray or missing quote can never carry a row under another
/// row's consent.
/// </summary>
public sealed class CsvMutationFuzzTests
{
    private const int MutantsPerRow = 400;

    private const string Header = "id,user_id,region,recipients,text";

    private const string Consent = """
        user_id,region,ai_training
        alice,US,granted
        bob,US,granted
        carol,US,granted
        42,US,granted
        mallory,US,denied
        """;

    private static readonly HashSet<string> s_allowed = new(["alice", "bob", "carol", "42"], StringComparer.Ordinal);

    private static readonly string[] s_validRows =
    [
        "r1,alice,US,,hello world",
        "r2,bob,US,alice;carol,\"hi, \"\"quoted\"\" é\"",
        "r3,42,us-ca,\"[\"\"alice\"\",42]\",a 5\" screen",
        "r4,carol, DE ,,Привет мир 👋 نص עברית",
        "r5,alice,US,bob,\"two\nlines, 中文\"",
        "r6,bob,,42,\"\"",
    ];

    /// <summary>Never mutated: if a mutant's quote swallows it, the oracle sees that too; if kept as its own row, a leak.</summary>
    private const string DeniedRow = "m1,mallory,US,,plain text of a denied user";

    private static readonly byte[] s_interesting = "\",;\r\n \t[]0123456789-aé"u8.ToArray();

    private static readonly string[] s_tokens = ["\"", "\"\"", ",mallory", "\nm2,mallory,US,,x\n", ",\"", "\",", "\r\n", "[\"bob\"]", " ", "ſ", "ı"];

    [Fact]
    public async Task Fuzz_MutatedCsvRows_MatchTheOracle_AndNoneLeaks()
    {
        var seed = Seeds.Next();
        var random = new Random(seed);
        var context = $"csv fuzz {Seeds.Replay(seed)}";
        var text = new StringBuilder(Header).Append('\n');
        foreach (var row in s_validRows)
        {
            var original = Encoding.UTF8.GetBytes(row);
            for (var i = 0; i < MutantsPerRow; i++)
            {
                // Latin-1 maps each byte to one char, so the oracle reads the same bytes the run does.
                text.Append(Encoding.Latin1.GetString(Mutate(original, random))).Append('\n');
                if (i % 7 == 0)
                {
                    text.Append(DeniedRow).Append('\n');
                }
            }
        }

        var input = Encoding.Latin1.GetBytes(text.ToString());
        var oracle = ReferenceCsv.Parse(text.ToString());
        var blank = oracle.Count(r => IsBlank(r.Raw));
        var records = oracle.Count - blank - 1;

        var options = new ConsentFilterOptions { MaxDegreeOfParallelism = 2, BatchBytes = 4096 };
        options.SubjectFields.Add("recipients");
        using var filter = new RecordFilter(TestData.Policy(Consent), options);
        var run = await InMemoryRun.RunAsync(filter, RecordInput.FromStream(new MemoryStream(input), "mutants.csv"));

        Assert.True(run.Report.Totals.Records == records, $"{context}: the run saw {run.Report.Totals.Records} records, the oracle {records}");
        Assert.True(run.Report.Totals.BlankLines == blank, $"{context}: {run.Report.Totals.BlankLines} blank rows, the oracle {blank}");

        // Kept output is the header and the kept rows, byte for byte: read it back with the oracle (strict UTF-8).
        string keptText;
        try
        {
            keptText = new UTF8Encoding(false, true).GetString(run.Kept);
        }
        catch (DecoderFallbackException e)
        {
            Assert.Fail($"{context}: kept output is not UTF-8 ({e.Message})");
            return;
        }

        var kept = ReferenceCsv.Parse(keptText);
        Assert.True(kept.Count >= 1 && kept[0].Raw == Header, $"{context}: kept output does not start with the header");
        Assert.True(kept.Count - 1 == run.Report.Totals.Kept, $"{context}: {kept.Count - 1} rows in the output, {run.Report.Totals.Kept} kept");
        foreach (var row in kept.Skip(1))
        {
            var shown = $"{context}: kept row {JsonSerializer.Serialize(row.Raw)}";
            Assert.True(row.Valid, $"{shown} is not valid CSV");
            Assert.True(row.Fields.Length == 5, $"{shown} has {row.Fields.Length} fields, the header 5");
            Assert.True(s_allowed.Contains(row.Fields[1]), $"{shown}: its author is not an allowed user");
            Assert.True(IsAllowingRegion(row.Fields[2]), $"{shown}: its region does not allow use");
            Assert.True(AllAllowed(row.Fields[3]), $"{shown}: a co-subject is not an allowed user");
        }

        // The same records through DecideAsync: the same kept rows.
        var keptByDecide = new StringBuilder(Header).Append('\n');
        await foreach (var result in filter.DecideAsync(RecordInput.FromStream(new MemoryStream(input), "mutants.csv")))
        {
            if (result.Outcome == RecordOutcome.Kept)
            {
                keptByDecide.Append(Encoding.UTF8.GetString(result.Line.Span)).Append('\n');
            }
        }

        Assert.True(keptByDecide.ToString() == keptText, $"{context}: RunAsync and DecideAsync kept different rows");
    }

    private static bool IsBlank(string raw) => raw.AsSpan().IndexOfAnyExcept(" \t\r") < 0;

    /// <summary>The test table: US and US-CA opt-out, DE opt-in (all users granted), anything else excluded; empty = home (US).</summary>
    private static bool IsAllowingRegion(string cell)
    {
        var code = cell.Trim().ToUpperInvariant();
        var country = code.Split('-')[0];
        return code.Length == 0 || code is "US" or "US-CA" or "DE" || (code.Contains('-', StringComparison.Ordinal) && country is "US" or "DE");
    }

    /// <summary>An independent reading of the co-subject cell: empty, ids separated by ';', or a JSON array.</summary>
    private static bool AllAllowed(string cell)
    {
        if (cell.Length == 0)
        {
            return true;
        }

        if (!cell.StartsWith('['))
        {
            return cell.Split(';').All(s_allowed.Contains);
        }

        try
        {
            using var document = JsonDocument.Parse(cell);
            return document.RootElement.ValueKind == JsonValueKind.Array && document.RootElement.EnumerateArray().All(e => e.ValueKind switch
            {
                JsonValueKind.String => s_allowed.Contains(e.GetString()!),
                JsonValueKind.Number => s_allowed.Contains(e.GetRawText()),
                _ => false,
            });
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    private static byte[] Mutate(byte[] original, Random random)
    {
        var bytes = new List<byte>(original);
        var count = random.Next(1, 4);
        for (var m = 0; m < count; m++)
        {
            var at = random.Next(bytes.Count + 1);
            var inside = Math.Min(at, bytes.Count - 1);
            switch (random.Next(7))
            {
                case 0:
                    bytes[inside] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes[inside] = s_interesting[random.Next(s_interesting.Length)];
                    break;
                case 2:
                    bytes.Insert(at, s_interesting[random.Next(s_interesting.Length)]);
                    break;
                case 3:
                    bytes.RemoveAt(inside);
                    break;
                case 4:
                    bytes.RemoveRange(inside, Math.Min(random.Next(1, 6), bytes.Count - inside));
                    break;
                case 5:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(s_tokens[random.Next(s_tokens.Length)]));
                    break;
                default:
                    var other = random.Next(bytes.Count);
                    (bytes[inside], bytes[other]) = (bytes[other], bytes[inside]);
                    break;
            }

            if (bytes.Count == 0)
            {
                bytes.Add((byte)'x');
            }
        }

        return [.. bytes];
    }
}
