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
        new("a.b.c", "r", "id", ["s", "t.u"], maxSubjects: 100),
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

    /// <summary>Long strings whose escapes, backslash runs, quotes and controls fall on every side of the 64-byte words
    /// the scanner indexes a line in — valid, and with a fragment broken or a stray byte inserted.</summary>
    [Property(MaxTest = 1500)]
    public Property Scanner_AgreesWithTheReaderBasedParser_OnLongEscapedStrings() => Prop.ForAll(
        (from seed in Gen.Choose(0, int.MaxValue)
         from breaks in Gen.Choose(0, 2)
         from paths in Gen.Choose(0, s_paths.Length - 1)
         select (seed, breaks, paths)).ToArbitrary(),
        input =>
        {
            var random = new Random(input.seed);
            string[] pieces = ["\\n", "\\\"", "\\\\", "\\u00e9", "\\ud83d\\ude00", "\\/", "\\t", "é", "🎉", "ab", " "];
            string Text()
            {
                var text = new StringBuilder();
                var length = random.Next(0, 200);
                while (text.Length < length)
                {
                    text.Append(random.Next(3) == 0 ? new string('x', random.Next(1, 70)) : pieces[random.Next(pieces.Length)]);
                }

                return text.ToString();
            }

            var line = Encoding.UTF8.GetBytes($"{{\"{s_keys[random.Next(s_keys.Length)]}\":\"{Text()}\",\"user_id\":\"{Text()}\",\"recipients\":[\"{Text()}\"],\"region\":\"US\"}}").ToList();
            byte[][] strays = [[(byte)'\\'], [(byte)'\\', (byte)'\\', (byte)'\\'], [(byte)'"'], [0x01], [0x0A], "\\u12"u8.ToArray(), "\\x"u8.ToArray()];
            for (var b = 0; b < input.breaks; b++)
            {
                line.InsertRange(random.Next(line.Count), strays[random.Next(strays.Length)]);
            }

            var bytes = line.ToArray();
            return Agrees(bytes, s_paths[input.paths]).Label(Encoding.UTF8.GetString(bytes));
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
    public void Scanner_AgreesOnKeysOfEveryLengthAroundTheLengthMask()
    {
        // The scanner skips keys of a length no path child has; lengths of 63 and more share one bit of that mask.
        foreach (var fieldLength in new[] { 1, 62, 63, 64, 70 })
        {
            var field = new string('k', fieldLength);
            var paths = new FieldPaths(field, "region", "id", ["recipients"]);
            foreach (var keyLength in new[] { 1, 2, 62, 63, 64, 65, 70, 71 })
            {
                var line = Encoding.UTF8.GetBytes($"{{\"{new string('k', keyLength)}\":\"u1\",\"{new string('k', Math.Max(1, keyLength - 1))}x\":1}}");
                Assert.True(Agrees(line, paths), $"field {fieldLength}, key {keyLength}");
            }
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

    private static bool Agrees(byte[] line, FieldPaths paths) => Disagreement(line, paths) is null;

    /// <summary>What differs between the two parsers on <paramref name="line"/>, or null: the verdict, every field found, co-subjects, key counts.</summary>
    private static string? Disagreement(byte[] line, FieldPaths paths)
    {
        var expected = new LineFields(paths);
        var actual = new LineFields(paths);
        var expectedKind = ReaderBasedLineParser.Parse(line, expected);
        var actualKind = JsonLineParser.Parse(line, actual);
        if (expectedKind != actualKind)
        {
            return $"verdict: reader {expectedKind}, scanner {actualKind}";
        }

        if (expectedKind != MalformedKind.None)
        {
            return null;
        }

        for (var field = 0; field < paths.FieldCount; field++)
        {
            if (expected.Values[field] != actual.Values[field])
            {
                return $"field {field}: reader {expected.Values[field]}, scanner {actual.Values[field]}";
            }
        }

        return !expected.Subjects.SequenceEqual(actual.Subjects) ? "co-subjects differ"
            : !expected.NodeCounts.SequenceEqual(actual.NodeCounts) ? "key counts differ"
            : null;
    }

    /// <summary>Edge cases gathered in a review of the scanner (every one agreed).</summary>
    public static TheoryData<string> Cases => new()
    {
        "\uFEFF{\"user_id\":\"u\"}",
        "{\"user_id\":\"u\"}\uFEFF",
        "{\"user_id\":\"u\"}\u0000",
        "{\"user_id\":\"u\"} \u0000",
        "{\"user_id\":\"u\"}\f",
        "{\"user_id\":\"u\"}/",
        "{\"user_id\":\"u\"}//c",
        "{\"user_id\":\"u\"/*c*/}",
        "{\"user_id\":1}",
        "{\"user_id\":-0}",
        "{\"user_id\":-}",
        "{\"user_id\":1e}",
        "{\"user_id\":1.}",
        "{\"user_id\":.1}",
        "{\"user_id\":+1}",
        "{\"user_id\":0x1}",
        "{\"user_id\":1 2}",
        "{\"user_id\":\"\\u00\"}",
        "{\"user_id\":\"\\u00G0\"}",
        "{\"user_id\":\"\\",
        "{\"user_id\":\"\\u",
        "{\"user_id\":\"\\u0",
        "{\"user_id\":\"\\u004",
        "{\"user_id\":\"\\u0041",
        "{\"user_id\":\"\\u0041\"",
        "{\"user_id\":\"a",
        "{\"user_id\":",
        "{\"user_id\"",
        "{\"user_id",
        "{\"",
        "{",
        "{ ",
        "[",
        "\"",
        "t",
        "tr",
        "nul",
        "-",
        "0",
        "1.5",
        "true",
        "null",
        "{}",
        "{} ",
        " {} \r\n\t",
        "{\"user_id\":\"u\",\"user_id\":\"v\"}",
        "{\"user_id\":\"u\",\"u\\u0073er_id\":\"v\"}",
        "{\"user_id\":\"u\",\"\\u0075\\u0073\\u0065\\u0072\\u005f\\u0069\\u0064\":\"v\"}",
        "{\"\\ud800\":1,\"user_id\":\"x\"}",
        "{\"\\udc00\":1,\"user_id\":\"x\"}",
        "{\"\\ud800\\u0041\":1,\"user_id\":\"x\"}",
        "{\"user_id\\ud800\":1,\"user_id\":\"x\"}",
        "{\"user_id\":\"x\",\"recipients\":[\"a\",[\"b\"]]}",
        "{\"user_id\":\"x\",\"recipients\":[\"a\",{}]}",
        "{\"user_id\":\"x\",\"recipients\":[]}",
        "{\"user_id\":\"x\",\"recipients\":[ ]}",
        "{\"user_id\":\"x\",\"recipients\":[,]}",
        "{\"user_id\":\"x\",\"recipients\":[1,]}",
        "{\"user_id\":\"x\",\"recipients\":[1 2]}",
        "{\"user_id\":\"x\",\"recipients\":[1}",
        "{\"user_id\":\"x\",\"recipients\":{]}",
        "{\"user_id\":\"x\",\"recipients\":\"a\",\"recipients\":[\"b\"]}",
        "{\"user_id\":\"x\" , \"region\" : \"de\" , \"id\" : 7 }",
        "{\"user_id\":\"x\",\"id\":{\"a\":1}}",
        "{\"user_id\":\"x\",\"id\":[1]}",
        "{\"user_id\":\"x\",\"id\":true}",
        "{\"author\":{\"id\":\"x\",\"id\":\"y\"}}",
        "{\"author\":{\"id\":\"x\"},\"author\":{\"id\":\"y\"}}",
        "{\"author\":{\"id\":\"x\"},\"author\":1}",
        "{\"author\":1,\"author\":{\"id\":\"x\"}}",
        "{\"author\":[{\"id\":\"x\"}]}",
        "{\"cc\":{\"list\":[\"a\"]},\"author\":{\"id\":\"x\"}}",
        "{\"a\":{\"b\":{\"c\":\"x\"}},\"s\":[\"a\"],\"t\":{\"u\":\"b\"}}",
        "{\"a\":{\"b\":{\"c\":\"x\",\"c\":\"y\"}}}",
        "{\"a\":{\"b\":{\"c\":\"x\"},\"b\":{}}}",
        "{\"user_id\":\"\u007f\"}",
        "{\"user_id\":\"\u2028\"}",
        "{\"user_id\":\"a\tb\"}",
        "{\"user_id\":\"a\u0000b\"}",
        "{\"user_id\" :\"u\"}",
        "{\"user_id\"\n:\n\"u\"\n}",
        "{\"user_id\":\"u\"\u000b}",
        "{\"user_id\":\"u\"\u00a0}",
        "{\"user_id\":truex}",
        "{\"user_id\":nulll}",
        "{\"user_id\":falsey}",
        "{\"user_id\":\"u\",\"x\":1e400}",
        "{\"user_id\":\"u\",\"x\":-1e-400}",
        "{\"user_id\":\"u\",\"x\":123456789012345678901234567890123456789012345678901234567890}",
        "{\"user_id\":123456789012345678901234567890123456789012345678901234567890}",
        "{\"user_id\":\"u\"}}",
        "{\"user_id\":\"u\"}]",
        "{\"user_id\":\"u\"},",
        "{\"user_id\":\"u\"},{}",
        "[{\"user_id\":\"u\"}]",
        "{\"user_id\":\"u\",\"region\":\"US\"} {\"user_id\":\"v\"}",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Scanner_AgreesWithTheReaderBasedParser_OnReviewedEdgeCases(string text)
    {
        foreach (var paths in s_paths)
        {
            var difference = Disagreement(Encoding.UTF8.GetBytes(text), paths);
            Assert.True(difference is null, $"{difference} :: {text}");
        }
    }

    /// <summary>Every substring of two rich lines: truncation at every point, from either end.</summary>
    [Fact]
    public void EveryTruncation_Agrees()
    {
        string[] texts =
        [
            "{\"user_id\":\"a\\u00e9\\ud83d\\ude00\\n\",\"region\":\"de\",\"id\":-1.5e+3,\"recipients\":[\"x\",2,\"\\\\\"],\"x\":[true,false,null,{\"a\":[]}]}",
            "{\"author\":{\"id\":\"x\"},\"geo\":{\"region\":\"US-CA\"},\"to\":\"\\u0041\",\"cc\":{\"list\":[1,2]}}",
        ];
        foreach (var bytes in texts.Select(Encoding.UTF8.GetBytes))
        {
            for (var start = 0; start <= bytes.Length; start++)
            {
                for (var end = start; end <= bytes.Length; end++)
                {
                    AssertAgrees(bytes[start..end]);
                }
            }
        }
    }

    /// <summary>Every byte value at every position of a rich line.</summary>
    [Fact]
    public void EveryByteValueAtEveryPosition_Agrees()
    {
        var original = Encoding.UTF8.GetBytes("{\"user_id\":\"a\\u00e9\\n\",\"region\":\"de\",\"id\":-1.5e+3,\"recipients\":[\"x\",2],\"y\":[true,false,null,{\"a\":[]}]}");
        for (var position = 0; position < original.Length; position++)
        {
            for (var value = 0; value < 256; value++)
            {
                var line = (byte[])original.Clone();
                line[position] = (byte)value;
                AssertAgrees(line);
            }
        }
    }

    private static void AssertAgrees(byte[] line)
    {
        foreach (var paths in s_paths)
        {
            var difference = Disagreement(line, paths);
            Assert.True(difference is null, $"{difference} :: {Convert.ToHexString(line)}");
        }
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
