using System.Text;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;
using ConsentFilter.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Pipeline.Formats;

/// <summary>CSV records through the one pipeline: SPEC 2.1's quoting rules, never a row kept under another row's consent.</summary>
public sealed class CsvRecordsTests
{
    private const string Consent = "user_id,region,ai_training\nalice,US,granted\nbob,US,denied\n";

    private static RecordFilter Filter(int threads = 2, int batchBytes = ConsentFilterDefaults.BatchBytes) =>
        new(TestData.Policy(Consent), new ConsentFilterOptions { MaxDegreeOfParallelism = threads, BatchBytes = batchBytes });

    private static async Task<(FilterReport Report, string Kept, string Quarantine)> RunAsync(string csv, RecordFilter? filter = null)
    {
        using var dir = new TempDirectory();
        var input = dir.Write("records.csv", csv);
        using var owned = filter is null ? Filter() : null;
        var report = await (filter ?? owned!).RunToFilesAsync([input], new FilterFileOutputs(dir.File("kept.csv"), Quarantine: dir.File("q.jsonl")));
        return (report, File.ReadAllText(dir.File("kept.csv")), File.ReadAllText(dir.File("q.jsonl")).Replace(dir.Path, "DIR", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StrayQuoteInsideUnquotedField_IsLiteral_RowsStaySeparate()
    {
        var (report, kept, _) = await RunAsync("id,user_id,text\nr1,alice,a 5\" screen\nr2,bob,row of a denied user\nr3,nobody,row of an unknown user\n");

        Assert.Equal(3, report.Totals.Records);
        Assert.Equal(1, report.Totals.Kept);
        Assert.Equal(2, report.Totals.DroppedTotal);
        Assert.Equal("id,user_id,text\nr1,alice,a 5\" screen\n", kept);
    }

    [Fact]
    public async Task UnterminatedQuote_RestIsOneQuarantinedRecord_NothingKept()
    {
        var (report, kept, quarantine) = await RunAsync("id,user_id,text\nr1,bob,\"never closed\nr2,alice,swallowed\n");

        Assert.Equal(1, report.Totals.Records);
        Assert.Equal(0, report.Totals.Kept);
        Assert.Equal(1, report.Totals.Quarantined(MalformedKind.InvalidCsv));
        Assert.Equal("id,user_id,text\n", kept);
        Assert.Contains("\"line\":2", quarantine, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("r1,alice,\"US\"x")]
    [InlineData("r1,\"alice\"x,US")]
    [InlineData("r1,\"alice\" ,US")]
    [InlineData("r1,alice,US,extra")]
    [InlineData("r1,alice")]
    public async Task QuotedFieldFollowedByText_OrWrongFieldCount_IsInvalidCsv(string row)
    {
        var (report, kept, _) = await RunAsync("id,user_id,region\n" + row + "\n");

        Assert.Equal(1, report.Totals.Quarantined(MalformedKind.InvalidCsv));
        Assert.Equal("id,user_id,region\n", kept);
    }

    [Fact]
    public async Task QuotedFieldsWithSeparatorsLineBreaksAndEscapes_KeptByteForByte_LineNumbersCountBreaks()
    {
        var row = "r1,alice,\"a, \"\"quoted\"\"\r\nline\"";
        var (report, kept, quarantine) = await RunAsync("id,user_id,text\r\n" + row + "\r\nr2,\"bo\"\"b\",x\nr3,,x\n");

        Assert.Equal(3, report.Totals.Records);
        Assert.Equal(1, report.Totals.Kept);
        Assert.Equal(1, report.Totals.Dropped(ConsentFilter.Decisions.DropReason.UnknownUser));
        Assert.Equal("id,user_id,text\n" + row + "\n", kept);
        Assert.Contains("\"line\":5", quarantine, StringComparison.Ordinal);
        Assert.Contains("missing_user_id", quarantine, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnterminatedQuote_LongerThanMaximum_HidesAtMostTheMaximum()
    {
        using var filter = new RecordFilter(TestData.Policy(Consent), new ConsentFilterOptions { MaxLineLength = 100, BatchBytes = 4096 });
        var swallowed = string.Concat(Enumerable.Range(0, 20).Select(i => $"r{i},bob,filler text\n"));
        var (report, kept, _) = await RunAsync("id,user_id,text\nr0,bob,\"open" + swallowed + "r9,alice,after\n", filter);

        Assert.Equal(1, report.Totals.Quarantined(MalformedKind.LineTooLong));
        Assert.Equal(1, report.Totals.Kept);
        Assert.EndsWith("r9,alice,after\n", kept, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeadersDiffer_IsDataFileError_NothingCommitted()
    {
        using var dir = new TempDirectory();
        var a = dir.Write("a.csv", "id,user_id\nr1,alice\n");
        var b = dir.Write("b.csv", "user_id,id\nalice,r2\n");
        using var filter = Filter();
        var error = await Assert.ThrowsAsync<DataFileException>(() => filter.RunToFilesAsync([a, b], new FilterFileOutputs(dir.File("kept.csv"))));
        Assert.Contains("b.csv", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("kept.csv")));
    }

    [Property(MaxTest = 100)]
    public bool AnyBatchSizeAndWorkerCount_SameOutput(NonEmptyString seed)
    {
        var csv = "id,user_id,text\n" + CsvNoise(seed.Get.GetHashCode(), 12_000);
        using var small = Filter(threads: 1, batchBytes: 4096);
        using var large = Filter(threads: 2);
        var a = RunAsync(csv, small).GetAwaiter().GetResult();
        var b = RunAsync(csv, large).GetAwaiter().GetResult();
        return a.Kept == b.Kept && a.Quarantine == b.Quarantine && a.Report.Totals.Records == b.Report.Totals.Records;
    }

    /// <summary>The splitter and field parser agree with an independent reading of the rules on arbitrary text.</summary>
    [Property(MaxTest = 2000)]
    public bool ScannerMatchesReferenceParser(NonEmptyString seed)
    {
        var text = CsvNoise(seed.Get.GetHashCode(), 12);
        var bytes = Encoding.UTF8.GetBytes(text);
        var expected = ReferenceCsv.Parse(text).Select(r => (r.Valid, r.Fields)).ToList();
        var actual = new List<(bool Valid, string[] Fields)>();
        var position = 0;
        var fields = new List<CsvRecordScanner.Field>();
        while (position < bytes.Length)
        {
            var end = CsvRecordScanner.RecordEnd(bytes.AsSpan(position), (byte)',', out _);
            var length = end < 0 ? bytes.Length - position : end;
            var record = bytes.AsSpan(position, length);
            if (end >= 0 && record.EndsWith("\r"u8))
            {
                record = record[..^1];
            }

            var valid = CsvRecordScanner.ParseFields(record, (byte)',', fields);
            var scratch = Array.Empty<byte>();
            var values = new string[valid ? fields.Count : 0];
            for (var f = 0; f < values.Length; f++)
            {
                values[f] = Encoding.UTF8.GetString(fields[f].Value(record, ref scratch));
            }

            actual.Add((valid, values));
            position += end < 0 ? length : end + 1;
        }

        return expected.Count == actual.Count
            && expected.Zip(actual).All(p => p.First.Valid == p.Second.Valid && (!p.First.Valid || p.First.Fields.SequenceEqual(p.Second.Fields)));
    }

    /// <summary>Rows of quotes, separators, CR, LF and letters, biased towards the tricky characters.</summary>
    private static string CsvNoise(int seed, int length)
    {
        var random = new Random(seed);
        const string alphabet = "\"\"\",,,\n\n\r abxé";
        var builder = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            builder.Append(random.Next(10) == 0 ? (random.Next(2) == 0 ? "alice" : "bob") : alphabet[random.Next(alphabet.Length)].ToString());
        }

        return builder.ToString();
    }
}
