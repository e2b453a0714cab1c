using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ConsentFilter.Cli;
using ConsentFilter.Provenance;
using ConsentFilter.Tests.Support;
using ConsentFilter.Tests.Tabular;

namespace ConsentFilter.Tests.Provenance;

/// <summary>
/// The manifest's digests, for every record format: they name their algorithm (BLAKE3), equal an independent one-shot
/// digest of the committed files, and <c>verify</c> still accepts manifests written in the v1 (SHA-256) form.
/// </summary>
public sealed class ManifestDigestTests
{
    [Theory]
    [InlineData("jsonl", "jsonl", true)]
    [InlineData("csv", "csv", true)]
    [InlineData("parquet", "parquet", true)]
    [InlineData("arrow", "arrow", true)]
    [InlineData("jsonl.gz", "jsonl.zst", true)]
    [InlineData("jsonl", "jsonl", false)]
    [InlineData("csv", "csv", false)]
    [InlineData("parquet", "parquet", false)]
    [InlineData("arrow", "arrow", false)]
    [InlineData("jsonl.gz", "jsonl.zst", false)]
    public async Task Manifest_DigestsEqualOneShotBlake3OfTheFiles_AndTamperingFailsVerify(string inputExtension, string outputExtension, bool hashInPlace)
    {
        // Both digest placements (in place on the reader and writer, or on tasks of their own), whatever this machine's cores.
        ConsentFilter.Internal.StreamDigest.InlineOverride.Value = hashInPlace;
        using var dir = new TempDirectory();
        var (inputs, common) = await WriteInputsAsync(dir, inputExtension);
        var output = dir.File($"kept.{outputExtension}");
        Assert.Equal(0, await Cli([.. common, "--out", output]));

        var manifest = Manifest.Read(Manifest.PathFor(output));
        Assert.Equal("consentfilter.manifest/v2", manifest["schema"]!.GetValue<string>());
        Assert.Equal("blake3", manifest["digest"]!.GetValue<string>());
        Assert.Equal(OneShotBlake3(output), manifest["output"]!["blake3"]!.GetValue<string>());
        Assert.Null(manifest["output"]!["sha256"]);
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(OneShotBlake3(inputs[i]), manifest["inputs"]![i]!["blake3"]!.GetValue<string>());
        }

        Assert.Equal(OneShotBlake3(output), Manifest.Blake3Of(output));
        Assert.Null(Manifest.Verify(output));

        var bytes = await File.ReadAllBytesAsync(output);
        bytes[bytes.Length / 2] ^= 0x20;
        await File.WriteAllBytesAsync(output, bytes);
        Assert.Contains("BLAKE3", Manifest.Verify(output), StringComparison.Ordinal);
        Assert.Equal(1, await ConsoleApp.RunAsync(["verify", output], new StringWriter(), new StringWriter()));
    }

    [Fact]
    public async Task OldV1Manifest_StillVerifies_AndItsTamperedOutputFails()
    {
        using var dir = new TempDirectory();
        var (inputs, common) = await WriteInputsAsync(dir, "jsonl");
        var output = dir.File("kept.jsonl");
        Assert.Equal(0, await Cli([.. common, "--out", output]));

        // The form tools before v2 wrote: schema v1, no "digest", SHA-256 under "sha256".
        var manifest = Manifest.Read(Manifest.PathFor(output));
        manifest["schema"] = "consentfilter.manifest/v1";
        manifest.Remove("digest");
        var outputNode = manifest["output"]!.AsObject();
        outputNode.Remove("blake3");
        outputNode["sha256"] = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(output)));
        for (var i = 0; i < inputs.Length; i++)
        {
            var input = manifest["inputs"]![i]!.AsObject();
            input.Remove("blake3");
            input["sha256"] = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(inputs[i])));
        }

        await File.WriteAllTextAsync(Manifest.PathFor(output), manifest.ToJsonString());
        Assert.Null(Manifest.Verify(output));
        Assert.Equal(0, await Cli(["verify", output]));

        await File.AppendAllTextAsync(output, "{\"user_id\":\"intruder\"}\n");
        Assert.Contains("SHA-256", Manifest.Verify(output), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownDigestAlgorithm_FailsVerify()
    {
        using var dir = new TempDirectory();
        var (_, common) = await WriteInputsAsync(dir, "jsonl");
        var output = dir.File("kept.jsonl");
        Assert.Equal(0, await Cli([.. common, "--out", output]));
        var manifest = Manifest.Read(Manifest.PathFor(output));
        manifest["digest"] = "md5";
        await File.WriteAllTextAsync(Manifest.PathFor(output), manifest.ToJsonString());
        Assert.Contains("unknown digest algorithm 'md5'", Manifest.Verify(output), StringComparison.Ordinal);
    }

    private static string OneShotBlake3(string path) => Blake3.Hasher.Hash(File.ReadAllBytes(path)).ToString();

    private static async Task<(string[] Inputs, string[] Common)> WriteInputsAsync(TempDirectory dir, string extension)
    {
        var corpus = new TabularCorpus(700);
        var consent = dir.Write("consent.csv", TabularCorpus.Consent);
        var table = dir.Write("table.csv", TestData.Table);
        var inputs = new[] { dir.File($"a.{extension}"), dir.File($"b.{extension}") };
        foreach (var input in inputs)
        {
            switch (extension)
            {
                case "parquet":
                    await corpus.WriteParquetAsync(input, rowGroupSize: 200);
                    break;
                case "arrow":
                    await corpus.WriteArrowAsync(input, batchSize: 250, file: true);
                    break;
                case "jsonl.gz":
                    await using (var gzip = new GZipStream(File.Create(input), CompressionLevel.Fastest))
                    {
                        await gzip.WriteAsync(System.Text.Encoding.UTF8.GetBytes(corpus.Jsonl()));
                    }

                    break;
                default:
                    await File.WriteAllTextAsync(input, extension == "csv" ? corpus.Csv() : corpus.Jsonl());
                    break;
            }
        }

        return (inputs, ["filter", "--records", .. inputs, "--consent", consent, "--jurisdictions", table, "--subject-field", "recipients"]);
    }

    private static async Task<int> Cli(string[] args)
    {
        var stderr = new StringWriter();
        var code = await ConsoleApp.RunAsync(args, new StringWriter(), stderr);
        Assert.True(code == 0, string.Join(' ', args) + ": " + stderr);
        return code;
    }
}
