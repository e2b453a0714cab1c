using System.Text;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;

namespace ConsentFilter.Tests.Pipeline;

/// <summary>SPEC 2.1 line rules, through <see cref="RecordFilter.DecideAsync"/> (which runs the <c>LineSplitter</c>).</summary>
public class LineSplitterTests
{
    private const string Record = "{\"user_id\":\"u1\"}";
    private const string AllowAll = "code,regime\n*,opt-out\n";

    private static RecordFilter Filter(int maxLineLength = ConsentFilterDefaults.MaxLineLength, int batchBytes = ConsentFilterDefaults.BatchBytes) =>
        new(TestData.Policy("user_id,ai_training\nu1,granted\n", AllowAll),
            new ConsentFilterOptions { MaxLineLength = maxLineLength, BatchBytes = batchBytes, MaxDegreeOfParallelism = 1 });

    private static Task<List<RecordResult>> Decide(string text, RecordFilter? filter = null) => Decide(Encoding.UTF8.GetBytes(text), filter);

    private static async Task<List<RecordResult>> Decide(byte[] bytes, RecordFilter? filter = null) =>
        await Decide(new MemoryStream(bytes), filter ?? Filter());

    private static async Task<List<RecordResult>> Decide(Stream stream, RecordFilter filter)
    {
        var results = new List<RecordResult>();
        await foreach (var result in filter.DecideAsync(RecordInput.FromStream(stream, "records.jsonl")))
        {
            results.Add(result);
        }

        return results;
    }

    private static string Text(RecordResult result) => Encoding.UTF8.GetString(result.Line.Span);

    [Fact]
    public async Task DecideAsync_BomAtFileStart_Stripped()
    {
        var results = await Decide([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Record + "\n" + Record + "\n")]);

        Assert.Equal([RecordOutcome.Kept, RecordOutcome.Kept], results.Select(r => r.Outcome));
        Assert.Equal(Record, Text(results[0]));
        Assert.Equal(1, results[0].LineNumber);
    }

    [Fact]
    public async Task DecideAsync_BomOnlyFile_NoRecords() => Assert.Empty(await Decide([0xEF, 0xBB, 0xBF]));

    [Fact]
    public async Task DecideAsync_BomOnSecondLine_InvalidJson()
    {
        var results = await Decide([.. Encoding.UTF8.GetBytes(Record + "\n"), 0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Record + "\n")]);

        Assert.Equal(2, results.Count);
        Assert.Equal(RecordOutcome.Kept, results[0].Outcome);
        Assert.Equal(RecordOutcome.Quarantined, results[1].Outcome);
        Assert.Equal(MalformedKind.InvalidJson, results[1].Error);
        Assert.Equal(2, results[1].LineNumber);
    }

    [Fact]
    public async Task DecideAsync_TwoBomsAtFileStart_SecondIsInvalidJson()
    {
        var results = await Decide([0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Record + "\n")]);

        Assert.Equal(MalformedKind.InvalidJson, Assert.Single(results).Error);
    }

    [Fact]
    public async Task DecideAsync_CrLfEndings_CrNotPartOfLine()
    {
        var results = await Decide(Record + "\r\n" + Record + "\r\n");

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal(RecordOutcome.Kept, r.Outcome));
        Assert.All(results, r => Assert.Equal(Record, Text(r)));
        Assert.Equal([1L, 2L], results.Select(r => r.LineNumber));
    }

    [Fact]
    public async Task DecideAsync_TwoCrsBeforeLf_OnlyOneIsLineEnding()
    {
        var results = await Decide("{\"user_id\":\"u1\"}\r\r\n");

        // The remaining CR is content (JSON whitespace, so the line is still valid).
        Assert.Equal("{\"user_id\":\"u1\"}\r", Text(Assert.Single(results)));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("   \n")]
    [InlineData("\t\t\n")]
    [InlineData(" \t \r\n")]
    [InlineData("\r\n")]
    [InlineData("\r\r\n")]
    public async Task DecideAsync_BlankLine_SkippedButLineNumbersArePhysical(string blank)
    {
        var results = await Decide(blank + Record + "\n" + blank + blank + Record + "\n");

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal(RecordOutcome.Kept, r.Outcome));
        Assert.Equal([2L, 5L], results.Select(r => r.LineNumber));
    }

    [Theory]
    [InlineData("\r")]
    [InlineData("   ")]
    [InlineData(" \t\r")]
    public async Task DecideAsync_BlankLastLineWithoutLf_Skipped(string blank) =>
        Assert.Single(await Decide(Record + "\n" + blank));

    [Theory]
    [InlineData("\f")]
    [InlineData("\v")]
    [InlineData("\u00a0")]
    [InlineData(" \u2028 ")]
    public async Task DecideAsync_OtherWhitespaceOnlyLine_NotBlankButInvalidJson(string line)
    {
        var results = await Decide(Record + "\n" + line + "\n" + Record);

        Assert.Equal([MalformedKind.None, MalformedKind.InvalidJson, MalformedKind.None], results.Select(r => r.Error));
    }

    [Theory]
    [InlineData(0, RecordOutcome.Kept)]
    [InlineData(1, RecordOutcome.Quarantined)]
    public async Task DecideAsync_LineAtMaxLengthNeedingBufferGrowth_BoundaryExact(int over, RecordOutcome expected)
    {
        const int max = 10_000;
        var prefix = "{\"user_id\":\"u1\",\"t\":\"";
        var line = prefix + new string('x', max - prefix.Length - 2 + over) + "\"}";
        var results = await Decide(Record + "\r\n" + line + "\r\n" + Record + "\r\n" + line, Filter(maxLineLength: max, batchBytes: 4096));

        Assert.Equal([RecordOutcome.Kept, expected, RecordOutcome.Kept, expected], results.Select(r => r.Outcome));
        Assert.Equal([1L, 2L, 3L, 4L], results.Select(r => r.LineNumber));
    }

    [Fact]
    public async Task DecideAsync_EmptyInput_NoRecords() => Assert.Empty(await Decide(string.Empty));

    [Fact]
    public async Task DecideAsync_LastLineWithoutLf_Decided()
    {
        var results = await Decide(Record + "\n{\"user_id\":\"u1\",\"n\":2}");

        Assert.Equal(2, results.Count);
        Assert.Equal("{\"user_id\":\"u1\",\"n\":2}", Text(results[1]));
        Assert.Equal(RecordOutcome.Kept, results[1].Outcome);
        Assert.Equal(2, results[1].LineNumber);
    }

    [Fact]
    public async Task DecideAsync_LastLineEndsInCrWithoutLf_CrIsContent()
    {
        var results = await Decide(Record + "\r");

        Assert.Equal(Record + "\r", Text(Assert.Single(results)));
    }

    [Fact]
    public async Task DecideAsync_LineOfExactlyMaxLength_Kept()
    {
        var line = "{\"user_id\":\"u1\",\"t\":\"" + new string('x', 100) + "\"}";
        var results = await Decide(line + "\r\n" + line, Filter(maxLineLength: line.Length, batchBytes: 4096));

        Assert.Equal([RecordOutcome.Kept, RecordOutcome.Kept], results.Select(r => r.Outcome));
    }

    [Fact]
    public async Task DecideAsync_LineOneByteOverMaxLength_LineTooLong()
    {
        var line = "{\"user_id\":\"u1\",\"t\":\"" + new string('x', 100) + "\"}";
        var results = await Decide(line + "\n" + Record + "\n" + line, Filter(maxLineLength: line.Length - 1, batchBytes: 4096));

        Assert.Equal([MalformedKind.LineTooLong, MalformedKind.None, MalformedKind.LineTooLong], results.Select(r => r.Error));
        Assert.Equal([1L, 2L, 3L], results.Select(r => r.LineNumber));
    }

    [Fact]
    public async Task DecideAsync_LineLongerThanBatchButWithinMax_KeptWhole()
    {
        var line = "{\"user_id\":\"u1\",\"t\":\"" + new string('x', 50_000) + "\"}";
        var results = await Decide(Record + "\n" + line + "\n" + Record, Filter(maxLineLength: 100_000, batchBytes: 4096));

        Assert.Equal(3, results.Count);
        Assert.All(results, r => Assert.Equal(RecordOutcome.Kept, r.Outcome));
        Assert.Equal(line, Text(results[1]));
    }

    [Fact]
    public async Task DecideAsync_HugeLine_QuarantinedInBoundedMemoryAndFollowingLinesNumbered()
    {
        var huge = "{\"user_id\":\"u1\",\"t\":\"" + new string('x', 5 * 1024 * 1024) + "\"}";
        var text = Record + "\n" + huge + "\r\n\n" + Record + "\n" + huge + "\n" + "{\"user_id\":\"u1\",\"n\":6}";
        using var stream = new ReadTrackingStream(Encoding.UTF8.GetBytes(text));

        var results = await Decide(stream, Filter(maxLineLength: 1024, batchBytes: 4096));

        Assert.Equal([1L, 2L, 4L, 5L, 6L], results.Select(r => r.LineNumber));
        Assert.Equal(
            [MalformedKind.None, MalformedKind.LineTooLong, MalformedKind.None, MalformedKind.LineTooLong, MalformedKind.None],
            results.Select(r => r.Error));
        Assert.Equal("{\"user_id\":\"u1\",\"n\":6}", Text(results[4]));
        Assert.True(stream.LargestRead <= 64 * 1024, $"the splitter read into a {stream.LargestRead}-byte buffer for a 1 KiB limit");
    }

    [Fact]
    public async Task DecideAsync_HugeLastLineWithoutLf_LineTooLong()
    {
        var huge = "{\"user_id\":\"u1\",\"t\":\"" + new string('x', 100_000) + "\"}";
        using var stream = new ReadTrackingStream(Encoding.UTF8.GetBytes(Record + "\n" + huge));

        var results = await Decide(stream, Filter(maxLineLength: 1024, batchBytes: 4096));

        Assert.Equal([MalformedKind.None, MalformedKind.LineTooLong], results.Select(r => r.Error));
        Assert.True(stream.LargestRead <= 64 * 1024);
    }

    [Fact]
    public async Task DecideAsync_ManyLinesAcrossBatches_AllDecidedInOrder()
    {
        var lines = Enumerable.Range(1, 3000).Select(i => $"{{\"user_id\":\"u1\",\"n\":{i}}}").ToArray();
        var results = await Decide(string.Join("\r\n", lines), Filter(batchBytes: 4096));

        Assert.Equal(lines, results.Select(Text));
        Assert.Equal(Enumerable.Range(1, 3000).Select(i => (long)i), results.Select(r => r.LineNumber));
    }

    [Fact]
    public async Task DecideAsync_StreamReturningOneByteAtATime_SameResults()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Record + "\r\n\n" + Record + "\n" + new string('y', 5000) + "\n" + Record)];
        using var stream = new TrickleStream(bytes);

        var results = await Decide(stream, Filter(maxLineLength: 1024, batchBytes: 4096));

        Assert.Equal([1L, 3L, 4L, 5L], results.Select(r => r.LineNumber));
        Assert.Equal([MalformedKind.None, MalformedKind.None, MalformedKind.LineTooLong, MalformedKind.None], results.Select(r => r.Error));
    }

    /// <summary>Hands out at most one byte per read, as a slow pipe might.</summary>
    private sealed class TrickleStream(byte[] data) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 1));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, 1)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 1)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, 1), cancellationToken);
    }

    /// <summary>A read-only stream that remembers the largest buffer a caller asked it to fill.</summary>
    private sealed class ReadTrackingStream(byte[] data) : MemoryStream(data, writable: false)
    {
        public int LargestRead { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            LargestRead = Math.Max(LargestRead, count);
            return base.Read(buffer, offset, count);
        }

        public override int Read(Span<byte> buffer)
        {
            LargestRead = Math.Max(LargestRead, buffer.Length);
            return base.Read(buffer);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            LargestRead = Math.Max(LargestRead, buffer.Length);
            return base.ReadAsync(buffer, cancellationToken);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            LargestRead = Math.Max(LargestRead, count);
            return base.ReadAsync(buffer, offset, count, cancellationToken);
        }
    }
}
