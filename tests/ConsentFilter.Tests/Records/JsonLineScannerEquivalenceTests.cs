using System.Text;
using ConsentFilter.Records;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Records;

/// <summary>
/// The hand-written scanner against the <see cref="System.Text.Json.Utf8JsonReader"/>-based parser it replaced: on
/// generated records and on every kind of mutation of them, both give the same verdict and, for a decidable line, the
/// same fields (user id, region, record id, co-subjects — offsets, types and escape flags).
/// </summary>
public sealed class JsonLineScannerEquivalenceTests
{
    private static readonly FieldPaths[] s_paths =
    [
        new("user_id", "region", "id", ["recipients"], maxSubjects: 4),
        new("author.id", "geo.region", "id", ["to", "cc.list"]),
    ];

    private static readonly string[] s_keys = ["user_id", "region", "id", "recipients", "author", "geo", "to", "cc", "list", "text", "meta", "u\\u0073er_id", "re\\u0067ion", "\\ud800x", ""];

    private static readonly byte[][] s_fragments =
    [
        .. new[] { "{", "}", "[", "]", "\"", ",", ":", "\\", "\\u", "\\u00e9", "\\ud83d\\ude00", "\\ud800", "0", "-", "-0", "01", "1.", ".5", "1e", "1E+", "2e-3",
            "true", "tru", "false", "null", "nul", " ", "\t", "\r", "\n", "é", "🎉", "\uFEFF", "x", "+", "/", "'" }.Select(Encoding.UTF8.GetBytes),
        [0], [0x1F], [0x7F],
    ];

    [Property(MaxTest = 3000)]
    public Property Scanner_AgreesWithTheReaderBasedParser_OnGeneratedAndMutatedLines() => Prop.ForAll(
        (from seed in Gen.Choose(0, int.MaxValue)
         from mutations in Gen.Choose(0, 4)
         from paths in Gen.Choose(0, s_paths.Length - 1)
         select (seed, mutations, paths)).ToArbitrary(),
        input =>
        {
            var random = new Random(input.seed);
            var line = Mutate(random, Encoding.UTF8.GetBytes(RandomRecord(random)), input.mutations);
            return Agrees(line, s_paths[input.paths]).Label(Encoding.UTF8.GetString(line));
        });

    [Theory]
    [InlineData("{}")]
    [InlineData(" {\"user_id\":\"u1\"} ")]
    [InlineData("\uFEFF{\"user_id\":\"u1\"}")]
    [InlineData("{\"user_id\":\"u1\",}")]
    [InlineData("{\"user_id\":\"u1\",\"recipients\":[\"a\",]}")]
    [InlineData("{\"user_id\":\"u1\",\"x\":[,1]}")]
    [InlineData("{,\"user_id\":\"u1\"}")]
    [InlineData("{\"user_id\":\"u1\",,\"id\":1}")]
    [InlineData("{\"user_id\" \"u1\"}")]
    [InlineData("{\"user_id\":\"u1\"]")]
    [InlineData("{\"x\":[}]}")]
    [InlineData("{\"user_id\":\"u1\"}{}")]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("-")]
    [InlineData("{\"user_id\":01}")]
    [InlineData("{\"user_id\":1.5e3,\"recipients\":[\"a\",2,{}]}")]
    [InlineData("{\"user_id\":\"a\\u00e9\",\"u\\u0073er_id\":\"b\"}")]
    [InlineData("{\"\\ud800\":1,\"user_id\":\"x\"}")]
    [InlineData("{\"user_id\":\"\\ud800\"}")]
    [InlineData("{\"user_id\":\"tab\there\"}")]
    [InlineData("{\"user_id\":\"ok\"}\r")]
    [InlineData("{\"user_id\":true}")]
    [InlineData("{\"user_id\":\"u\",\"recipients\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}")]
    public void Scanner_AgreesWithTheReaderBasedParser_OnEdgeCases(string text)
    {
        foreach (var paths in s_paths)
        {
            Assert.True(Agrees(Encoding.UTF8.GetBytes(text), paths), text);
        }
    }

    [Fact]
    public void Scanner_AgreesOnDeepNesting()
    {
        foreach (var depth in new[] { 63, 64, 65, 71, 72, 73, 300 })
        {
            var open = string.Concat(Enumerable.Repeat("{\"a\":", depth - 1));
            Assert.True(Agrees(Encoding.UTF8.GetBytes($"{open}{{\"user_id\":\"u\"}}{new string('}', depth - 1)}"), s_paths[0]), $"depth {depth}");
            Assert.True(Agrees(Encoding.UTF8.GetBytes($"{{\"user_id\":\"u\",\"x\":{new string('[', depth)}{new string(']', depth)}}}"), s_paths[0]), $"arrays {depth}");
            Assert.True(Agrees(Encoding.UTF8.GetBytes($"{{\"user_id\":\"u\",\"x\":{new string('[', depth)}{new string(']', depth - 1)}}}"), s_paths[0]), $"unbalanced {depth}");
        }
    }

    private static bool Agrees(byte[] line, FieldPaths paths)
    {
        var expected = new LineFields(paths);
        var actual = new LineFields(paths);
        var expectedKind = ReaderBasedLineParser.Parse(line, expected);
        var actualKind = JsonLineParser.Parse(line, actual);
        if (expectedKind != actualKind)
        {
            return false;
        }

        return expectedKind != MalformedKind.None
            || (expected.UserId == actual.UserId && expected.Region == actual.Region && expected.RecordId == actual.RecordId
                && expected.Subjects.SequenceEqual(actual.Subjects));
    }

    private static string RandomRecord(Random random)
    {
        var builder = new StringBuilder("{");
        var count = random.Next(0, 7);
        for (var k = 0; k < count; k++)
        {
            if (k > 0)
            {
                builder.Append(random.Next(10) == 0 ? " , " : ",");
            }

            builder.Append('"').Append(s_keys[random.Next(s_keys.Length)]).Append("\":");
            builder.Append(RandomValue(random, 0));
        }

        return builder.Append('}').ToString();
    }

    private static string RandomValue(Random random, int depth) => random.Next(depth > 3 ? 6 : 9) switch
    {
        0 => $"\"u{random.Next(100)}\"",
        1 => random.Next(4) switch { 0 => "0", 1 => "-12", 2 => "3.25", _ => "1e9" },
        2 => "\"\"",
        3 => random.Next(3) switch { 0 => "true", 1 => "false", _ => "null" },
        4 => "\"caf\\u00e9 \\\"q\\\" \\\\ é\"",
        5 => $"\"{new string('x', random.Next(0, 40))}\"",
        6 => "[" + string.Join(",", Enumerable.Range(0, random.Next(0, 7)).Select(_ => RandomValue(random, depth + 1))) + "]",
        7 => "{" + string.Join(",", Enumerable.Range(0, random.Next(0, 4)).Select(_ => $"\"{s_keys[random.Next(s_keys.Length)]}\":{RandomValue(random, depth + 1)}")) + "}",
        _ => $"{{\"id\":\"u{random.Next(9)}\",\"region\":\"US\",\"list\":[\"a\",\"b\"]}}",
    };

    private static byte[] Mutate(Random random, byte[] line, int mutations)
    {
        var bytes = new List<byte>(line);
        for (var m = 0; m < mutations && bytes.Count > 0; m++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(5))
            {
                case 4:
                    // Drop what follows a comma up to the container's end: trailing commas, empty members.
                    var comma = bytes.IndexOf((byte)',', at);
                    var end = comma < 0 ? -1 : bytes.FindIndex(comma, b => b is (byte)']' or (byte)'}');
                    if (end > comma + 1)
                    {
                        bytes.RemoveRange(comma + 1, end - comma - 1);
                    }

                    break;
                case 0:
                    bytes.RemoveAt(at);
                    break;
                case 1:
                    bytes.InsertRange(at, s_fragments[random.Next(s_fragments.Length)]);
                    break;
                case 2:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                default:
                    var fragment = s_fragments[random.Next(s_fragments.Length)];
                    bytes.RemoveAt(at);
                    bytes.InsertRange(at, fragment);
                    break;
            }
        }

        return [.. bytes];
    }
}
