using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Reliability;

/// <summary>
/// Hostile inputs (issue 5, item 4) never crash a run: each ends as a quarantine entry with the right error, the line
/// after it is still decided, and conservation holds. Bounded memory is asserted once, in <see cref="BoundedMemoryTests"/>.
/// </summary>
public sealed class HostileInputTests
{
    private static readonly byte[] s_nextLine = "{\"user_id\":\"alice\",\"text\":\"after\"}\n"u8.ToArray();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RunAsync_OneGigabyteLineWithoutNewline_IsQuarantinedAsLineTooLong(bool followedByALine)
    {
        var input = OneGigabyteLine(followedByALine);

        var result = await InMemoryRun.RunAsync(InMemoryRun.Filter(), RecordInput.FromStream(input, "huge.jsonl"));

        Assert.Equal(input.Length, input.Delivered);
        Assert.Equal(("huge.jsonl", 1L, "line_too_long"), Assert.Single(result.Quarantine));
        Assert.Equal(followedByALine ? Encoding.UTF8.GetString(s_nextLine) : string.Empty, result.KeptText);
        Assert.Equal(followedByALine ? 2 : 1, result.Report.Totals.Records);
        Assert.Equal(input.Length, result.Report.Inputs[0].Counts.Bytes);
    }

    [Theory]
    [InlineData("[", "]")]
    [InlineData("{\"a\":", "}")]
    public async Task RunAsync_HundredThousandLevelsOfNesting_IsQuarantinedAsTooDeep(string open, string close)
    {
        const int Levels = 100_000;
        var line = "{\"user_id\":\"alice\",\"x\":" + string.Concat(Enumerable.Repeat(open, Levels)) + "1" + string.Concat(Enumerable.Repeat(close, Levels)) + "}\n";
        var deepFirst = string.Concat(Enumerable.Repeat(open, Levels)) + "1" + string.Concat(Enumerable.Repeat(close, Levels)) + "\n";

        var result = await InMemoryRun.RunAsync(InMemoryRun.Filter(), Encoding.UTF8.GetBytes(line + deepFirst).Concat(s_nextLine).ToArray());

        Assert.Equal(["too_deep", open == "[" ? "not_object" : "too_deep"], result.Quarantine.Select(q => q.Error));
        Assert.Equal(Encoding.UTF8.GetString(s_nextLine), result.KeptText);
    }

    [Theory]
    [InlineData(64, null)]
    [InlineData(65, "too_deep")]
    public async Task RunAsync_NestingAtTheLimit_TopLevelObjectIsLevelOne(int levels, string? error)
    {
        var line = "{\"user_id\":\"alice\",\"x\":" + string.Concat(Enumerable.Repeat("[", levels - 1)) + string.Concat(Enumerable.Repeat("]", levels - 1)) + "}\n";

        var result = await InMemoryRun.RunAsync(InMemoryRun.Filter(), Encoding.UTF8.GetBytes(line));

        Assert.Equal(error is null ? [] : [error], result.Quarantine.Select(q => q.Error));
        Assert.Equal(error is null ? 1 : 0, result.Report.Totals.Kept);
    }

    public static TheoryData<string> InvalidSequences => new()
    {
        "FF", "FE", "80", "BF", "C0AF", "C1BF", "E08080", "EDA080", "EDBFBF", "F4908080", "F5808080", "F8888080", "E282", "C3", "F09F98",
    };

    /// <summary>Every invalid sequence, replacing and inserted before every byte of a line whose author is allowed.</summary>
    [Theory]
    [MemberData(nameof(InvalidSequences))]
    public async Task RunAsync_InvalidUtf8AtEveryPosition_IsQuarantinedAndNeverKept(string hex)
    {
        var bad = Convert.FromHexString(hex);
        var valid = "{\"user_id\":\"alice\",\"region\":\"US\"}"u8.ToArray();
        var lines = new List<byte[]>();
        for (var i = 0; i <= valid.Length; i++)
        {
            lines.Add([.. valid[..i], .. bad, .. valid[i..]]);
            if (i < valid.Length)
            {
                lines.Add([.. valid[..i], .. bad, .. valid[(i + 1)..]]);
            }
        }

        var input = lines.SelectMany(l => l.Append((byte)'\n')).Concat(s_nextLine).ToArray();

        var result = await InMemoryRun.RunAsync(InMemoryRun.Filter(), input);

        Assert.Equal(lines.Count, result.Quarantine.Count);
        Assert.All(result.Quarantine, q => Assert.Equal("invalid_utf8", q.Error));
        Assert.Equal(Encoding.UTF8.GetString(s_nextLine), result.KeptText);
    }

    /// <summary>
    /// Found by <see cref="MutationFuzzTests"/>. Fail-closed today (the run fails, nothing is committed) but one hostile
    /// line must not stop a whole job.
    /// </summary>
    [Theory]
    [InlineData("{\"\\ud800\":1,\"user_id\":\"alice\"}")]
    [InlineData("{\"user_id\":\"alice\",\"\\udc00x\":1}")]
    public async Task RunAsync_LoneSurrogateEscapeInAPropertyName_IsDecidedNotACrash(string line)
    {
        var input = Encoding.UTF8.GetBytes(line + "\n").Concat(s_nextLine).ToArray();

        var result = await InMemoryRun.RunAsync(InMemoryRun.Filter(), input);

        Assert.Equal(2, result.Report.Totals.Records);
        Assert.EndsWith(Encoding.UTF8.GetString(s_nextLine), result.KeptText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ConsentFilterDefaults.MaxLineLength, "invalid_json")]
    [InlineData(4096, "line_too_long")]
    public async Task RunAsync_FileOfNulBytes_IsOneMalformedLine(int maxLineLength, string error)
    {
        var input = new GeneratedStream(([0], 1 << 20));
        var options = new ConsentFilterOptions { MaxLineLength = maxLineLength, MaxDegreeOfParallelism = 2 };

        var result = await InMemoryRun.RunAsync(InMemoryRun.Filter(options), RecordInput.FromStream(input, "nul.bin"));

        Assert.Equal(("nul.bin", 1L, error), Assert.Single(result.Quarantine));
        Assert.Empty(result.Kept);
    }

    [Fact]
    public async Task RunAsync_NulBytesBetweenLines_AreMalformedLinesAndTheRestIsDecided()
    {
        var input = "\0\0\0\n"u8.ToArray().Concat(s_nextLine).Concat("{\"user_id\":\"alice\"}\0\n"u8.ToArray()).Concat("{\"user_id\":\"al\0ice\"}\n"u8.ToArray()).ToArray();

        var result = await InMemoryRun.RunAsync(InMemoryRun.Filter(), input);

        Assert.Equal(["invalid_json", "invalid_json", "invalid_json"], result.Quarantine.Select(q => q.Error));
        Assert.Equal(Encoding.UTF8.GetString(s_nextLine), result.KeptText);
    }

    [Theory]
    [InlineData("123456789012345678901234567890", "kept")]
    [InlineData("\"123456789012345678901234567890\"", "kept")]
    [InlineData("-5", "kept")]
    [InlineData("123456789012345678901234567891", "unknown_user")]
    [InlineData("1234567890123456789012345678900", "unknown_user")]
    [InlineData("0123456789012345678901234567890", "invalid_json")]
    [InlineData("123456789012345678901234567890.0", "bad_user_id_type")]
    [InlineData("1.23456789012345678901234567890e29", "bad_user_id_type")]
    [InlineData("1e400", "bad_user_id_type")]
    [InlineData("-0.0", "bad_user_id_type")]
    public async Task RunAsync_HugeIntegerIds_AreTheirDecimalTextAndNothingElse(string userId, string outcome)
    {
        var line = Encoding.UTF8.GetBytes($"{{\"user_id\":{userId}}}\n");

        var result = await InMemoryRun.RunAsync(InMemoryRun.Filter(), line);

        var actual = result.Report.Totals.Kept == 1 ? "kept"
            : result.Quarantine.Count == 1 ? result.Quarantine[0].Error
            : result.Rejections.Contains("\"reason\":\"unknown_user\"", StringComparison.Ordinal) ? "unknown_user" : result.Rejections;
        Assert.Equal(outcome, actual);
    }

    [Fact]
    public async Task RunAsync_HundredThousandDigitId_IsDecidedWithoutCrashing()
    {
        var digits = new string('9', 100_000);
        var consent = $"user_id,region,ai_training\n{digits},US,granted\n";
        var input = Encoding.UTF8.GetBytes($"{{\"user_id\":{digits}}}\n{{\"user_id\":{digits}8}}\n");

        var result = await InMemoryRun.RunAsync(InMemoryRun.Filter(consent: consent), input);

        Assert.Equal(1, result.Report.Totals.Kept);
        Assert.Equal(1, result.Report.Totals.Dropped(DropReason.UnknownUser));
    }

    /// <summary>Sep holds a whole row and stops at 16 Mi characters: a clear load error naming the file, whichever cell it is.</summary>
    [Theory]
    [InlineData("note")]
    [InlineData("user_id")]
    [InlineData("ai_training")]
    public void LoadCsv_HundredMegabyteField_FailsWithAOneLineDataFileException(string column)
    {
        const long Size = 100L * 1024 * 1024;
        var (before, after) = column switch
        {
            "note" => ("alice,US,granted,\"", "\"\n"),
            "user_id" => ("\"", "\",US,granted,\n"),
            _ => ("alice,US,\"", "\",\n"),
        };
        var csv = new GeneratedStream(
            ("user_id,region,ai_training,note\nbob,US,denied,\n"u8.ToArray(), 1),
            (Encoding.UTF8.GetBytes(before), 1),
            ("x,\"\"\n"u8.ToArray(), Size / 5),
            (Encoding.UTF8.GetBytes(after), 1));

        var thrown = Record.Exception(() => ConsentSnapshot.LoadCsv(csv, "huge.csv", [TestData.Purpose]));

        var error = Assert.IsType<DataFileException>(thrown);
        Assert.Equal("huge.csv: the row after line 2 is longer than 16777216 characters (an unterminated quote?)", error.Message);
    }

    [Fact]
    public void LoadCsv_LongFieldUnderTheLimit_Loads()
    {
        var id = new string('u', 4 << 20);
        var csv = Encoding.UTF8.GetBytes($"user_id,region,ai_training,note\n{id},US,granted,\"{new string('x', 4 << 20)}\"\nbob,US,denied,\n");

        var snapshot = ConsentSnapshot.LoadCsv(new MemoryStream(csv), "long.csv", [TestData.Purpose]);

        Assert.Equal(2, snapshot.Info.Users);
        Assert.True(snapshot.TryGetUser(Encoding.UTF8.GetBytes(id), out _));
    }

    private static GeneratedStream OneGigabyteLine(bool followedByALine) => new(
        ("{\"user_id\":\"alice\",\"text\":\""u8.ToArray(), 1),
        ("a"u8.ToArray(), 1L << 30),
        ("\"}"u8.ToArray(), 1),
        followedByALine ? ([(byte)'\n', .. s_nextLine], 1) : ([], 0));
}
