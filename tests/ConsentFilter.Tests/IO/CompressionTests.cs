using System.IO.Compression;
using System.Text;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Tests.IO;

/// <summary>
/// Compressed records in and out: same decisions as plain files, whatever the input is called; a truncated or corrupt
/// input, or bytes after its last gzip member or zstd frame, fail the run and commit nothing.
/// </summary>
public sealed class CompressionTests : IDisposable
{
    private const string Consent = "user_id,region,ai_training\nu1,US,granted\nu2,DE,unset\nu3,US,denied\n";
    private readonly string _temp = Directory.CreateTempSubdirectory("cf-gz-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static string Records()
    {
        var text = new StringBuilder();
        for (var i = 0; i < 20_000; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{{\"id\":{i},\"user_id\":\"u{1 + (i % 4)}\",\"text\":\"{new string('x', i % 50)}\"}}\n");
        }

        return text.ToString();
    }

    [Theory]
    [InlineData(".jsonl", ".jsonl")]
    [InlineData(".jsonl.gz", ".jsonl.gz")]
    [InlineData(".jsonl.zst", ".jsonl.zst")]
    [InlineData(".jsonl.gz", ".jsonl")]
    public async Task Run_CompressedInputAndOutput_SameAsPlain(string inputExtension, string outputExtension)
    {
        var plain = await RunAsync(Write("in.jsonl", Records()), "plain.jsonl");
        var input = Write("in" + inputExtension, Records());
        var report = await RunAsync(input, "out" + outputExtension);

        Assert.Equal(20_000, report.Totals.Records);
        Assert.Equal(plain.Totals.Kept, report.Totals.Kept);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_temp, "plain.jsonl")), ReadDecompressed(Path.Combine(_temp, "out" + outputExtension)));
        Assert.Equal(inputExtension != ".jsonl", report.Inputs[0].Checksummed);
    }

    [Fact]
    public async Task Run_ConcatenatedGzipMembers_ReadsEveryMember()
    {
        var path = Path.Combine(_temp, "multi.jsonl.gz");
        await using (var file = File.Create(path))
        {
            foreach (var part in new[] { Records(), Records() })
            {
                await using var gzip = new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true);
                await gzip.WriteAsync(Encoding.UTF8.GetBytes(part));
            }
        }

        var report = await RunAsync(path, "multi-out.jsonl");
        Assert.Equal(40_000, report.Totals.Records);
    }

    [Theory]
    [InlineData(".jsonl.gz", 0.5)]
    [InlineData(".jsonl.gz", 0.999)]
    [InlineData(".jsonl.zst", 0.5)]
    [InlineData(".jsonl.zst", 0.999)]
    public async Task Run_TruncatedInput_FailsAndCommitsNothing(string extension, double keep)
    {
        var full = Write("full" + extension, Records());
        var bytes = await File.ReadAllBytesAsync(full);
        var cut = Path.Combine(_temp, "cut" + extension);
        await File.WriteAllBytesAsync(cut, bytes[..(int)(bytes.Length * keep)]);

        using var filter = Filter();
        var outputs = new FilterFileOutputs(Path.Combine(_temp, "out.jsonl"), Path.Combine(_temp, "rej.jsonl"), Path.Combine(_temp, "q.jsonl"), Path.Combine(_temp, "report.json"));
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => filter.RunToFilesAsync([cut], outputs));

        Assert.Contains(cut, error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_temp, "out*"));
        Assert.Empty(Directory.GetFiles(_temp, "*.tmp", SearchOption.AllDirectories));
        Assert.False(File.Exists(outputs.Report));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("zero padding")]
    [InlineData("a member, garbage, a member")]
    [InlineData("two members, then garbage")]
    [InlineData("a lone 1f")]
    public async Task Run_GzipWithBytesAfterAMemberThatAreNotAMember_FailsNamingFileAndOffsetAndCommitsNothing(string layout)
    {
        var member = Gzip(Records());
        var (bytes, offset) = layout switch
        {
            "garbage" => ([.. member, .. "garbage\n"u8], member.Length),
            "zero padding" => ([.. member, .. new byte[512]], member.Length),
            "a member, garbage, a member" => ([.. member, .. "xx"u8, .. member], member.Length),
            "two members, then garbage" => ([.. member, .. member, .. "\n{}\n"u8], 2 * member.Length),
            _ => ((byte[])[.. member, 0x1f], member.Length),
        };
        var path = Path.Combine(_temp, "trailing.jsonl.gz");
        await File.WriteAllBytesAsync(path, bytes);

        var error = await AssertRunFailsAsync(path);

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains($"offset {offset} ", error.Message, StringComparison.Ordinal);
        Assert.Contains("not another gzip member", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ZstdWithBytesAfterTheLastFrame_FailsNamingFileAndOffset()
    {
        var frame = Zstd(Records(), checksum: true);
        var path = Path.Combine(_temp, "trailing.jsonl.zst");
        await File.WriteAllBytesAsync(path, [.. frame, .. frame, .. new byte[16]]);

        var error = await AssertRunFailsAsync(path);

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains($"offset {2 * frame.Length} ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ZstdFrameWithCorruptedChecksum_Fails()
    {
        var frame = Zstd(Records(), checksum: true);
        frame[^1] ^= 0x55;
        var path = Path.Combine(_temp, "bad-checksum.jsonl.zst");
        await File.WriteAllBytesAsync(path, frame);

        var error = await AssertRunFailsAsync(path);

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("checksum", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Run_GzipMemberWithCorruptedCrc_Fails()
    {
        var member = Gzip(Records());
        member[^8] ^= 0x55;
        var path = Path.Combine(_temp, "bad-crc.jsonl.gz");
        await File.WriteAllBytesAsync(path, member);

        var error = await AssertRunFailsAsync(path);

        Assert.Contains("CRC-32", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gzip", "in.jsonl")]
    [InlineData("gzip", "in")]
    [InlineData("gzip", "in.txt")]
    [InlineData("zstd", "in.jsonl")]
    [InlineData("zstd", "in")]
    public async Task Run_CompressedContentUnderAnyName_DecompressedByItsMagicBytes(string format, string name)
    {
        var plain = await RunAsync(Write("plain.jsonl", Records()), "plain-out.jsonl");
        var path = Path.Combine(_temp, name);
        await File.WriteAllBytesAsync(path, format == "gzip" ? Gzip(Records()) : Zstd(Records(), checksum: true));

        var report = await RunAsync(path, "out.jsonl");

        Assert.Equal(20_000, report.Totals.Records);
        Assert.Equal(0, report.Totals.QuarantinedTotal);
        Assert.Equal(plain.Totals.Kept, report.Totals.Kept);
        Assert.Equal(format, report.Inputs[0].Compression);
        Assert.True(report.Inputs[0].Checksummed);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_temp, "plain-out.jsonl")), File.ReadAllBytes(Path.Combine(_temp, "out.jsonl")));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task CsvRun_CompressedContentNamedCsv_DecompressedByItsMagicBytes(string format)
    {
        const string Csv = "id,user_id,text\n1,u1,a\n2,u2,b\n3,u3,c\n4,u1,d\n";
        var bytes = Encoding.UTF8.GetBytes(Csv);
        var path = Path.Combine(_temp, "in.csv");
        await File.WriteAllBytesAsync(path, format == "gzip" ? Gzip(Csv) : Zstd(Csv, checksum: false));
        using var filter = Filter();

        var report = await new RecordFilter(filter.Policy, new ConsentFilterOptions())
            .RunToFilesAsync([path], new FilterFileOutputs(Path.Combine(_temp, "kept.csv")));

        Assert.Equal(4, report.Totals.Records);
        Assert.Equal(2, report.Totals.Kept);
        Assert.Equal(bytes.Length, report.Inputs[0].Counts.Bytes);
        Assert.Equal(format, report.Inputs[0].Compression);
        Assert.Equal(format == "gzip", report.Inputs[0].Checksummed);
        Assert.Equal("id,user_id,text\n1,u1,a\n4,u1,d\n", File.ReadAllText(Path.Combine(_temp, "kept.csv")));
    }

    [Theory]
    [InlineData("in.jsonl.gz", "plain")]
    [InlineData("in.jsonl.gz", "zstd")]
    [InlineData("in.jsonl.zst", "plain")]
    [InlineData("in.jsonl.zst", "gzip")]
    [InlineData("in.jsonl.gz", "empty")]
    [InlineData("in.jsonl.zst", "empty")]
    public async Task Run_CompressedNameWithoutThatMagic_FailsAndCommitsNothing(string name, string content)
    {
        var path = Path.Combine(_temp, name);
        await File.WriteAllBytesAsync(path, content switch
        {
            "plain" => Encoding.UTF8.GetBytes(Records()),
            "gzip" => Gzip(Records()),
            "zstd" => Zstd(Records(), checksum: true),
            _ => [],
        });

        var error = await AssertRunFailsAsync(path);

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("magic bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains(content == "empty" ? "the file is empty" : "it starts with", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("in.jsonl", false, "none", false)]
    [InlineData("in.jsonl.gz", false, "gzip", true)]
    [InlineData("in.jsonl.zst", false, "zstd", false)]
    [InlineData("in.jsonl.zst", true, "zstd", true)]
    public async Task Report_EachInput_SaysItsCompressionAndWhetherItWasChecksummed(string name, bool zstdChecksum, string compression, bool checksummed)
    {
        var path = Path.Combine(_temp, name);
        var records = Records();
        await File.WriteAllBytesAsync(path, compression switch
        {
            "gzip" => Gzip(records),
            "zstd" => Zstd(records, zstdChecksum),
            _ => Encoding.UTF8.GetBytes(records),
        });
        using var filter = Filter();
        var reportPath = Path.Combine(_temp, "report.json");

        var report = await filter.RunToFilesAsync([path], new FilterFileOutputs(Path.Combine(_temp, "out.jsonl"), Report: reportPath));

        Assert.Equal(compression, report.Inputs[0].Compression);
        Assert.Equal(checksummed, report.Inputs[0].Checksummed);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(reportPath));
        var input = json.RootElement.GetProperty("inputs")[0];
        Assert.Equal(compression, input.GetProperty("compression").GetString());
        Assert.Equal(checksummed, input.GetProperty("checksummed").GetBoolean());
        Assert.Equal(Encoding.UTF8.GetByteCount(records), input.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public async Task Run_EmptyPlainFile_ZeroRecords()
    {
        var path = Path.Combine(_temp, "empty.jsonl");
        await File.WriteAllBytesAsync(path, []);

        var report = await RunAsync(path, "out.jsonl");

        Assert.Equal(0, report.Totals.Records);
        Assert.Equal("none", report.Inputs[0].Compression);
    }

    [Theory]
    [InlineData("consent.csv.gz", true)]
    [InlineData("consent.csv", true)]
    [InlineData("consent.csv.gz", false)]
    public void Load_CompressedConsentFile_FailsAsAConfigurationProblem(string name, bool gzipContent)
    {
        var path = Path.Combine(_temp, name);
        File.WriteAllBytes(path, gzipContent ? Gzip(Consent) : Encoding.UTF8.GetBytes(Consent));

        var error = Assert.Throws<DataFileException>(() => RecordFilter.Load(path, null, new ConsentFilterOptions()));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("decompress it first", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CompressedJurisdictionTable_FailsAsAConfigurationProblem()
    {
        var consent = Path.Combine(_temp, "consent.csv");
        File.WriteAllText(consent, Consent);
        var table = Path.Combine(_temp, "table.csv");
        File.WriteAllBytes(table, Gzip("code,regime\nUS,opt-out\n*,excluded\n"));

        var error = Assert.Throws<DataFileException>(() => RecordFilter.Load(consent, table, new ConsentFilterOptions()));

        Assert.Contains("decompress it first", error.Message, StringComparison.Ordinal);
    }

    private async Task<InvalidDataException> AssertRunFailsAsync(string input)
    {
        using var filter = Filter();
        var outputs = new FilterFileOutputs(Path.Combine(_temp, "out.jsonl"), Path.Combine(_temp, "rej.jsonl"), Path.Combine(_temp, "q.jsonl"), Path.Combine(_temp, "report.json"));
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => filter.RunToFilesAsync([input], outputs));
        Assert.Empty(Directory.GetFiles(_temp, "out*"));
        Assert.Empty(Directory.GetFiles(_temp, "*.tmp", SearchOption.AllDirectories));
        Assert.False(File.Exists(outputs.Report));
        return error;
    }

    internal static byte[] Gzip(string text)
    {
        using var bytes = new MemoryStream();
        using (var gzip = new GZipStream(bytes, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return bytes.ToArray();
    }

    internal static byte[] Zstd(string text, bool checksum)
    {
        using var bytes = new MemoryStream();
        using (var zstd = new ZstdSharp.CompressionStream(bytes, level: 3, leaveOpen: true))
        {
            zstd.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_checksumFlag, checksum ? 1 : 0);
            zstd.Write(Encoding.UTF8.GetBytes(text));
        }

        return bytes.ToArray();
    }

    private RecordFilter Filter()
    {
        var consent = Path.Combine(_temp, "consent.csv");
        File.WriteAllText(consent, Consent);
        return RecordFilter.Load(consent, null, new ConsentFilterOptions { BatchBytes = 4096 });
    }

    private async Task<FilterReport> RunAsync(string input, string output)
    {
        using var filter = Filter();
        return await filter.RunToFilesAsync([input], new FilterFileOutputs(Path.Combine(_temp, output)));
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_temp, name);
        using var file = File.Create(path);
        using var compressed = ConsentFilter.IO.Compression.OpenWrite(file, path);
        compressed.Write(Encoding.UTF8.GetBytes(text));
        return path;
    }

    private static byte[] ReadDecompressed(string path)
    {
        using var file = File.OpenRead(path);
        using var plain = ConsentFilter.IO.Compression.OpenRead(file, path);
        using var copy = new MemoryStream();
        plain.CopyTo(copy);
        return copy.ToArray();
    }
}
