using System.Text;
using ConsentFilter.Records;

namespace ConsentFilter.Tests.Records;

/// <summary>A record naming more co-subjects than the limit is quarantined, in bounded memory.</summary>
public sealed class TooManySubjectsTests
{
    private static LineFields Fields(int max) => new(new FieldPaths("user_id", "region", "id", ["recipients", "mentions"], max));

    [Theory]
    [InlineData(3, 3, MalformedKind.None)]
    [InlineData(3, 4, MalformedKind.TooManySubjects)]
    [InlineData(0, 1, MalformedKind.TooManySubjects)]
    [InlineData(0, 0, MalformedKind.None)]
    public void Parse_SubjectCountAgainstLimit(int max, int count, MalformedKind expected)
    {
        var recipients = string.Join(',', Enumerable.Range(0, count).Select(i => $"\"u{i}\""));
        var line = Encoding.UTF8.GetBytes($"{{\"user_id\":\"a\",\"recipients\":[{recipients}]}}");
        Assert.Equal(expected, JsonLineParser.Parse(line, Fields(max)));
    }

    [Fact]
    public void Parse_LimitCountsAcrossFields()
    {
        var line = "{\"user_id\":\"a\",\"recipients\":[\"b\",\"c\"],\"mentions\":\"d\"}"u8;
        Assert.Equal(MalformedKind.TooManySubjects, JsonLineParser.Parse(line, Fields(2)));
        Assert.Equal(MalformedKind.None, JsonLineParser.Parse(line, Fields(3)));
    }

    [Fact]
    public void Parse_MillionSubjects_QuarantinedWithoutCapturingThem()
    {
        var builder = new StringBuilder("{\"user_id\":\"a\",\"recipients\":[");
        for (var i = 0; i < 1_000_000; i++)
        {
            builder.Append(i == 0 ? "" : ",").Append(i);
        }

        var line = Encoding.UTF8.GetBytes(builder.Append("]}").ToString());
        var fields = Fields(10_000);
        Assert.Equal(MalformedKind.TooManySubjects, JsonLineParser.Parse(line, fields));
        Assert.True(fields.ArrayElements[FieldPaths.FirstSubjectField].Count <= 10_001);
    }

    [Fact]
    public void Parse_BadElementBeforeLimit_IsBadSubjectType()
    {
        var line = "{\"user_id\":\"a\",\"recipients\":[\"b\",null,\"c\",\"d\"]}"u8;
        Assert.Equal(MalformedKind.BadSubjectType, JsonLineParser.Parse(line, Fields(2)));
    }
}
