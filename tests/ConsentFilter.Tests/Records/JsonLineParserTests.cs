using System.Text;
using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Tests.Records;

public class JsonLineParserTests
{
    private static readonly FieldPaths s_paths = new("user_id", "region", "id", ["recipients"]);

    private static MalformedKind Parse(string line) => Parse(line, s_paths);

    private static MalformedKind Parse(string line, FieldPaths paths) => JsonLineParser.Parse(Encoding.UTF8.GetBytes(line), new LineFields(paths));

    /// <summary>Bytes from a string whose chars are all below U+0100, so <c>\u00ff</c> becomes the raw byte 0xFF.</summary>
    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>A valid object nested <paramref name="levels"/> deep in total (the top-level object is level 1).</summary>
    private static string Nested(int levels, string prefix = "\"user_id\":\"u1\",") =>
        "{" + prefix + "\"d\":" + new string('[', levels - 1) + new string(']', levels - 1) + "}";

    private static string NestedObjects(int levels) =>
        "{\"user_id\":\"u1\"" + string.Concat(Enumerable.Repeat(",\"d\":{\"x\":1", levels - 1)) + new string('}', levels);

    private static byte[] IdBytes(string line, Func<LineFields, JsonValueRef> select)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var fields = new LineFields(s_paths);
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse(bytes, fields));
        var decider = new JsonRecordDecider(TestData.Policy("user_id,ai_training\nu1,granted\n"));
        return decider.IdBytes(bytes, select(fields)).ToArray();
    }

    // invalid_utf8

    [Theory]
    [InlineData("{\"user_id\":\"u\u00ff1\"}")]
    [InlineData("{\"user_id\":\"u\u00c0\u00af\"}")]
    [InlineData("{\"user_id\":\"u\u00e2\u0082\"}")]
    [InlineData("{\"user_id\":\"\u00ed\u00a0\u0080\"}")]
    [InlineData("{\"user_id\":\"u1\",\"text\":\"\u0080\"}")]
    [InlineData("{\"user_id\":\"u1\",\"k\u00fe\":1}")]
    [InlineData("{\"user_id\":\"u1\"}\u00f8")]
    public void Parse_InvalidUtf8Bytes_InvalidUtf8(string latin1Line) =>
        Assert.Equal(MalformedKind.InvalidUtf8, JsonLineParser.Parse(Latin1(latin1Line), new LineFields(s_paths)));

    // invalid_json

    [Theory]
    [InlineData("{\"user_id\":\"u1\"} // comment")]
    [InlineData("{/* comment */\"user_id\":\"u1\"}")]
    [InlineData("{\"user_id\":\"u1\" # comment\n}")]
    [InlineData("{\"user_id\":\"u1\",}")]
    [InlineData("{\"user_id\":\"u1\",\"tags\":[1,2,]}")]
    [InlineData("{\"user_id\":\"u1\",\"x\":NaN}")]
    [InlineData("{\"user_id\":\"u1\",\"x\":Infinity}")]
    [InlineData("{\"user_id\":\"u1\",\"x\":-Infinity}")]
    [InlineData("{\"user_id\":\"u1\",\"x\":\"NaN\",\"y\":nan}")]
    [InlineData("{\"user_id\":\"u\t1\"}")]
    [InlineData("{\"user_id\":\"u1\",\"text\":\"a\u0001b\"}")]
    [InlineData("{\"user_id\":\"u1\",\"text\":\"a\u001fb\"}")]
    [InlineData("{\"user_id\":\"u1\",\"text\":\"a\rb\"}")]
    [InlineData("{'user_id':'u1'}")]
    [InlineData("{\"user_id\":'u1'}")]
    [InlineData("{user_id:\"u1\"}")]
    [InlineData("{\"user_id\":\"u1\"}{\"user_id\":\"u2\"}")]
    [InlineData("{\"user_id\":\"u1\"} x")]
    [InlineData("{\"user_id\":\"u1\"},")]
    [InlineData("{\"user_id\":\"u1\"} 1")]
    [InlineData("{\"user_id\":01}")]
    [InlineData("{\"user_id\":-01}")]
    [InlineData("{\"user_id\":\"u1\",\"n\":007}")]
    [InlineData("{\"user_id\":+5}")]
    [InlineData("{\"user_id\":\"u1\"")]
    [InlineData("{\"user_id\":\"u1")]
    [InlineData("{\"user_id\":\"u\\x1\"}")]
    [InlineData("{\"user_id\":\"u\\u12\"}")]
    [InlineData("\uFEFF{\"user_id\":\"u1\"}")]
    [InlineData("{\"user_id\" \"u1\"}")]
    [InlineData("")]
    public void Parse_NotStrictJson_InvalidJson(string line) => Assert.Equal(MalformedKind.InvalidJson, Parse(line));

    // not_object

    [Theory]
    [InlineData("[]")]
    [InlineData("[{\"user_id\":\"u1\"}]")]
    [InlineData("42")]
    [InlineData("-1.5e3")]
    [InlineData("\"u1\"")]
    [InlineData("true")]
    [InlineData("false")]
    [InlineData("null")]
    [InlineData("  null  ")]
    public void Parse_TopLevelNotObject_NotObject(string line) => Assert.Equal(MalformedKind.NotObject, Parse(line));

    // too_deep

    [Fact]
    public void Parse_Arrays64LevelsIncludingTopObject_Valid() => Assert.Equal(MalformedKind.None, Parse(Nested(64)));

    [Fact]
    public void Parse_Arrays65Levels_TooDeep() => Assert.Equal(MalformedKind.TooDeep, Parse(Nested(65)));

    [Fact]
    public void Parse_Objects64Levels_Valid() => Assert.Equal(MalformedKind.None, Parse(NestedObjects(64)));

    [Fact]
    public void Parse_Objects65Levels_TooDeep() => Assert.Equal(MalformedKind.TooDeep, Parse(NestedObjects(65)));

    [Fact]
    public void Parse_VeryDeepNesting_TooDeep() => Assert.Equal(MalformedKind.TooDeep, Parse(Nested(5000)));

    // missing_user_id

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"region\":\"DE\"}")]
    [InlineData("{\"user_id\":\"\"}")]
    [InlineData("{\"user_id\":null}")]
    [InlineData("{\"User_Id\":\"u1\"}")]
    [InlineData("{\"userid\":\"u1\"}")]
    [InlineData("{\"x\":{\"user_id\":\"u1\"}}")]
    [InlineData("{\"x\":[{\"user_id\":\"u1\"}]}")]
    public void Parse_NoUsableUserId_MissingUserId(string line) => Assert.Equal(MalformedKind.MissingUserId, Parse(line));

    // bad_user_id_type

    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    [InlineData("4.2e1")]
    [InlineData("42e0")]
    [InlineData("4E1")]
    [InlineData("42.0")]
    [InlineData("1.5")]
    [InlineData("-0.0")]
    [InlineData("{}")]
    [InlineData("{\"id\":\"u1\"}")]
    [InlineData("[]")]
    [InlineData("[\"u1\"]")]
    public void Parse_UserIdOfWrongType_BadUserIdType(string value) =>
        Assert.Equal(MalformedKind.BadUserIdType, Parse("{\"user_id\":" + value + "}"));

    // bad_region_type

    [Theory]
    [InlineData("null")]
    [InlineData("49")]
    [InlineData("1.5")]
    [InlineData("true")]
    [InlineData("{}")]
    [InlineData("{\"code\":\"DE\"}")]
    [InlineData("[\"DE\"]")]
    public void Parse_RegionOfWrongType_BadRegionType(string value) =>
        Assert.Equal(MalformedKind.BadRegionType, Parse("{\"user_id\":\"u1\",\"region\":" + value + "}"));

    // bad_subject_type

    [Theory]
    [InlineData("null")]
    [InlineData("\"\"")]
    [InlineData("true")]
    [InlineData("1.5")]
    [InlineData("4.2e1")]
    [InlineData("{}")]
    [InlineData("{\"user_id\":\"u2\"}")]
    [InlineData("[[\"u2\"]]")]
    [InlineData("[[]]")]
    [InlineData("[{\"user_id\":\"u2\"}]")]
    [InlineData("[true]")]
    [InlineData("[false]")]
    [InlineData("[null]")]
    [InlineData("[\"\"]")]
    [InlineData("[1.5]")]
    [InlineData("[1e3]")]
    [InlineData("[\"u2\",null]")]
    [InlineData("[\"u2\",\"u3\",\"\"]")]
    public void Parse_CoSubjectOfWrongType_BadSubjectType(string value) =>
        Assert.Equal(MalformedKind.BadSubjectType, Parse("{\"user_id\":\"u1\",\"recipients\":" + value + "}"));

    // duplicate_key

    [Theory]
    [InlineData("{\"user_id\":\"u1\",\"user_id\":\"u2\"}")]
    [InlineData("{\"user_id\":\"u1\",\"user_id\":\"u1\"}")]
    [InlineData("{\"user_id\":\"u1\",\"user\\u005fid\":\"u2\"}")]
    [InlineData("{\"user_id\":\"u1\",\"region\":\"DE\",\"region\":\"US\"}")]
    [InlineData("{\"user_id\":\"u1\",\"region\":\"US\",\"region\":\"US\"}")]
    [InlineData("{\"user_id\":\"u1\",\"recipients\":[\"u2\"],\"recipients\":[\"u3\"]}")]
    [InlineData("{\"user_id\":\"u1\",\"recipients\":\"u2\",\"recipients\":[]}")]
    public void Parse_DuplicateDecisionKey_DuplicateKey(string line) => Assert.Equal(MalformedKind.DuplicateKey, Parse(line));

    [Theory]
    [InlineData("{\"meta\":{\"author\":\"u1\"},\"meta\":{\"author\":\"u2\"}}")]
    [InlineData("{\"meta\":{\"author\":\"u1\"},\"meta\":{\"other\":1}}")]
    [InlineData("{\"meta\":{\"author\":\"u1\",\"author\":\"u2\"}}")]
    [InlineData("{\"meta\":{\"author\":\"u1\",\"author\":\"u1\"}}")]
    [InlineData("{\"meta\":{\"author\":\"u1\"},\"meta\":5}")]
    [InlineData("{\"meta\":5,\"meta\":{\"author\":\"u1\"}}")]
    public void Parse_DuplicateKeyAlongDottedPath_DuplicateKey(string line) =>
        Assert.Equal(MalformedKind.DuplicateKey, Parse(line, new FieldPaths("meta.author", "region", "id", ["recipients"])));

    [Theory]
    [InlineData("{\"user_id\":\"u1\",\"text\":\"a\",\"text\":\"b\"}")]
    [InlineData("{\"user_id\":\"u1\",\"id\":1,\"id\":2}")]
    [InlineData("{\"user_id\":\"u1\",\"x\":{\"user_id\":\"a\",\"user_id\":\"b\"}}")]
    [InlineData("{\"user_id\":\"u1\",\"x\":[{\"region\":\"a\",\"region\":\"b\"}]}")]
    [InlineData("{\"user_id\":\"u1\",\"recipients\":[\"u2\",\"u2\"]}")]
    public void Parse_DuplicateKeyOutsideDecisionPaths_Valid(string line) => Assert.Equal(MalformedKind.None, Parse(line));

    [Fact]
    public void Parse_DuplicateSiblingOfDottedPath_Valid() =>
        Assert.Equal(MalformedKind.None, Parse(
            "{\"meta\":{\"author\":\"u1\",\"lang\":\"en\",\"lang\":\"de\"},\"text\":1,\"text\":2}",
            new FieldPaths("meta.author", "region", "id", ["recipients"])));

    [Fact]
    public void Parse_DuplicateRecordId_NotEchoed()
    {
        var fields = new LineFields(s_paths);
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse("{\"user_id\":\"u1\",\"id\":1,\"id\":2}"u8, fields));
        Assert.True(fields.RecordId.IsAbsent);
    }

    // Order: line-level checks (UTF-8, then JSON, not object, too deep) before fields; then user id, region, co-subjects,
    // each field's duplicate keys before its type.

    [Theory]
    [InlineData("{\"user_id\":\"u\u00ff1\",}", MalformedKind.InvalidUtf8)]
    [InlineData("[\"\u00ff\"]", MalformedKind.InvalidUtf8)]
    public void Parse_InvalidUtf8AndOtherProblems_InvalidUtf8First(string latin1Line, MalformedKind expected) =>
        Assert.Equal(expected, JsonLineParser.Parse(Latin1(latin1Line), new LineFields(s_paths)));

    [Theory]
    [InlineData("[1,]", MalformedKind.InvalidJson)]
    [InlineData("{\"user_id\":true,\"region\":null,}", MalformedKind.InvalidJson)]
    [InlineData("{\"user_id\":\"u1\",\"user_id\":\"u2\"} x", MalformedKind.InvalidJson)]
    [InlineData("{\"user_id\":\"u1\",\"user_id\":null,\"region\":1}", MalformedKind.DuplicateKey)]
    [InlineData("{\"user_id\":null,\"region\":1,\"recipients\":[null]}", MalformedKind.MissingUserId)]
    [InlineData("{\"user_id\":1.5,\"region\":\"DE\",\"region\":\"US\"}", MalformedKind.BadUserIdType)]
    [InlineData("{\"user_id\":\"u1\",\"region\":\"DE\",\"region\":\"US\",\"recipients\":[null]}", MalformedKind.DuplicateKey)]
    [InlineData("{\"user_id\":\"u1\",\"region\":null,\"region\":null}", MalformedKind.DuplicateKey)]
    [InlineData("{\"user_id\":\"u1\",\"region\":null,\"recipients\":[null]}", MalformedKind.BadRegionType)]
    [InlineData("{\"user_id\":\"u1\",\"region\":7,\"recipients\":[],\"recipients\":[]}", MalformedKind.BadRegionType)]
    [InlineData("{\"recipients\":[],\"recipients\":[],\"user_id\":\"\"}", MalformedKind.MissingUserId)]
    public void Parse_SeveralProblems_FirstInDocumentedOrder(string line, MalformedKind expected) => Assert.Equal(expected, Parse(line));

    [Fact]
    public void Parse_TooDeepAndMissingUserId_TooDeepFirst() =>
        Assert.Equal(MalformedKind.TooDeep, Parse(Nested(65, prefix: "\"user_id\":null,\"region\":1,")));

    [Fact]
    public void Parse_DeepArrayAtTopLevel_NotObjectBeforeTooDeep() =>
        Assert.Equal(MalformedKind.NotObject, Parse(new string('[', 70) + new string(']', 70)));

    [Fact]
    public void Parse_TooDeepThenInvalidJson_InvalidJson() =>
        Assert.Equal(MalformedKind.InvalidJson, Parse(Nested(65) + ","));

    [Fact]
    public void Parse_SeveralCoSubjectFields_FirstFieldInConfiguredOrderReported()
    {
        var paths = new FieldPaths("user_id", "region", "id", ["mentions", "recipients"]);
        Assert.Equal(MalformedKind.BadSubjectType, Parse("{\"user_id\":\"u1\",\"recipients\":[],\"recipients\":[],\"mentions\":true}", paths));
        Assert.Equal(MalformedKind.DuplicateKey, Parse("{\"user_id\":\"u1\",\"recipients\":true,\"mentions\":[],\"mentions\":[]}", paths));
    }

    // Valid lines

    [Theory]
    [InlineData("{\"user_id\":\"u1\"}", "u1")]
    [InlineData("{\"user_id\":42}", "42")]
    [InlineData("{\"user_id\":-5}", "-5")]
    [InlineData("{\"user_id\":0}", "0")]
    [InlineData("{\"user_id\":123456789012345678901234567890}", "123456789012345678901234567890")]
    [InlineData("{\"user_id\":\"u\\u0031\"}", "u1")]
    [InlineData("{\"user_id\":\"\\u00e9\"}", "\u00e9")]
    [InlineData("{\"user_id\":\"\\ud83d\\ude00\"}", "\U0001F600")]
    [InlineData("{\"user_id\":\"a\\\"b\\\\c\\/d\"}", "a\"b\\c/d")]
    [InlineData("{\"user_id\":\" U1 \"}", " U1 ")]
    [InlineData("{\"user\\u005fid\":\"u7\"}", "u7")]
    [InlineData("  {\"user_id\":\"u1\"}  ", "u1")]
    [InlineData("{\"region\":\"DE\",\"user_id\":\"u1\",\"text\":{\"user_id\":\"x\"}}", "u1")]
    public void Parse_ValidUserId_IdBytesAreExact(string line, string expectedId) =>
        Assert.Equal(Encoding.UTF8.GetBytes(expectedId), IdBytes(line, f => f.UserId));

    [Theory]
    [InlineData("{\"meta\":{\"author\":\"u1\"}}", MalformedKind.None)]
    [InlineData("{\"meta\":{\"lang\":\"en\",\"author\":7}}", MalformedKind.None)]
    [InlineData("{\"author\":\"u1\"}", MalformedKind.MissingUserId)]
    [InlineData("{\"meta\":\"u1\"}", MalformedKind.MissingUserId)]
    [InlineData("{\"meta\":5}", MalformedKind.MissingUserId)]
    [InlineData("{\"meta\":null}", MalformedKind.MissingUserId)]
    [InlineData("{\"meta\":[{\"author\":\"u1\"}]}", MalformedKind.MissingUserId)]
    [InlineData("{\"meta\":{\"inner\":{\"author\":\"u1\"}}}", MalformedKind.MissingUserId)]
    [InlineData("{\"meta\":{\"author\":true}}", MalformedKind.BadUserIdType)]
    public void Parse_DottedUserPath_FollowsNestedObjectsOnly(string line, MalformedKind expected) =>
        Assert.Equal(expected, Parse(line, new FieldPaths("meta.author", "region", "id", ["recipients"])));

    [Fact]
    public void Parse_DeepDottedPaths_FindEveryField()
    {
        var paths = new FieldPaths("a.b.user", "a.b.region", "a.id", ["a.c.to"]);
        var fields = new LineFields(paths);
        var line = "{\"a\":{\"id\":9,\"b\":{\"region\":\"de\",\"user\":\"u1\"},\"c\":{\"to\":[\"u2\",\"u3\"]}}}"u8;
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse(line, fields));
        Assert.Equal("u1"u8.ToArray(), fields.UserId.Raw(line).ToArray());
        Assert.Equal("de"u8.ToArray(), fields.Region.Raw(line).ToArray());
        Assert.Equal("9"u8.ToArray(), fields.RecordId.Raw(line).ToArray());
        Assert.Equal(2, fields.Subjects.Count);
    }

    [Theory]
    [InlineData("{\"user_id\":\"u1\",\"region\":\"\"}", "")]
    [InlineData("{\"user_id\":\"u1\",\"region\":\" us-ca \"}", " us-ca ")]
    public void Parse_StringRegion_Valid(string line, string expectedRaw)
    {
        var fields = new LineFields(s_paths);
        var bytes = Encoding.UTF8.GetBytes(line);
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse(bytes, fields));
        Assert.False(fields.Region.IsAbsent);
        Assert.Equal(Encoding.UTF8.GetBytes(expectedRaw), fields.Region.Raw(bytes).ToArray());
    }

    [Fact]
    public void Parse_NoRegion_RegionAbsent()
    {
        var fields = new LineFields(s_paths);
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse("{\"user_id\":\"u1\"}"u8, fields));
        Assert.True(fields.Region.IsAbsent);
    }

    [Theory]
    [InlineData("{\"user_id\":\"u1\"}", new string[0])]
    [InlineData("{\"user_id\":\"u1\",\"recipients\":[]}", new string[0])]
    [InlineData("{\"user_id\":\"u1\",\"recipients\":\"u2\"}", new[] { "u2" })]
    [InlineData("{\"user_id\":\"u1\",\"recipients\":7}", new[] { "7" })]
    [InlineData("{\"user_id\":\"u1\",\"recipients\":[\"u2\",3,\"u\\u0034\",-5]}", new[] { "u2", "3", "u4", "-5" })]
    [InlineData("{\"recipients\":[\"u1\",\"u1\"],\"user_id\":\"u1\"}", new[] { "u1", "u1" })]
    public void Parse_ValidCoSubjects_SubjectsInOrder(string line, string[] expected)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var fields = new LineFields(s_paths);
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse(bytes, fields));
        var decider = new JsonRecordDecider(TestData.Policy("user_id,ai_training\nu1,granted\n"));
        var actual = fields.Subjects.Select(s => Encoding.UTF8.GetString(decider.IdBytes(bytes, s))).ToArray();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Parse_ReusedFields_NoStateLeaksBetweenLines()
    {
        var fields = new LineFields(s_paths);
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse("{\"user_id\":\"u1\",\"region\":\"DE\",\"recipients\":[\"u2\"]}"u8, fields));
        Assert.Equal(MalformedKind.DuplicateKey, JsonLineParser.Parse("{\"user_id\":\"u1\",\"user_id\":\"u1\"}"u8, fields));
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse("{\"user_id\":\"u3\"}"u8, fields));
        Assert.True(fields.Region.IsAbsent);
        Assert.Empty(fields.Subjects);
    }
}
