using System.IO.Compression;
using System.Text;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Tests.IO;

/// <summary>Compressed records in and out: same decisions as plain files; a truncated input fails and commits nothing.</summary>
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
