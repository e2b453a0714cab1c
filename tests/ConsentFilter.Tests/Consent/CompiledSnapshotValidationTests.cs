using System.Buffers.Binary;
using System.IO.Hashing;
using ConsentFilter.Consent;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Consent;

/// <summary>
/// A compiled snapshot whose checksum is right but whose entries mean nothing (a writer's bug, a file edited and
/// re-checksummed) is refused when opened, and the CLI says so with exit 2 — it never decides with it.
/// </summary>
public sealed class CompiledSnapshotValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(0b11u, "undefined consent code")] // ai_training's code 3 (granted 0, unset 1, denied 2)
    [InlineData(0b11u << 2, "undefined consent code")] // the second purpose's
    [InlineData(7u << 16, "region set")] // past the file's region sets
    public async Task Open_EntryWithoutMeaning_RefusedAndTheCliExitsTwo(uint bits, string problem)
    {
        var csv = _dir.Write("c.csv", "user_id,region,ai_training,analytics,gpc\nu3,US,unset,granted,true\nu4,DE,denied,denied,false\n");
        var good = _dir.File("good.snap");
        CompiledSnapshotBuilder.BuildFromCsv(csv, good, ["ai_training", "analytics"]);
        using (CompiledSnapshot.Open(good))
        {
        }

        var bad = _dir.File("bad.snap");
        File.WriteAllBytes(bad, Rechecksummed(File.ReadAllBytes(good), bits));

        var error = Assert.Throws<DataFileException>(() => CompiledSnapshot.Open(bad));
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);

        _dir.Write("r.jsonl", "{\"user_id\":\"u3\"}\n");
        _dir.Write("j.csv", "code,regime\nUS,opt-out\nDE,opt-out\n*,excluded\n");
        var result = await CliProcess.RunInProcessAsync("filter", "--records", _dir.File("r.jsonl"), "--consent", bad, "--jurisdictions", _dir.File("j.csv"), "--out", _dir.File("kept.jsonl"));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.False(File.Exists(_dir.File("kept.jsonl")));
        var explain = await CliProcess.RunInProcessAsync("explain", "--consent", bad, "--jurisdictions", _dir.File("j.csv"), "--user", "u3");
        Assert.True(explain.ExitCode == 2, explain.ToString());
    }

    [Fact]
    public async Task SnapshotBuild_MorePurposesThanAFileHolds_UsageError()
    {
        var csv = _dir.Write("p8.csv", "user_id,region,p1,p2,p3,p4,p5,p6,p7,p8\nu1,US,1,1,1,1,1,1,1,0\n");
        string[] purposes = [.. Enumerable.Range(1, 8).SelectMany(p => new[] { "--purpose", $"p{p}" })];

        var result = await CliProcess.RunInProcessAsync(["snapshot", "build", "--consent", csv, "--out", _dir.File("p8.snap"), .. purposes]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("at most 7 purposes (got 8)", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", result.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("p8.snap")));
    }

    /// <summary>Every entry's payload ORed with <paramref name="bits"/>, and the checksum made right again.</summary>
    private static byte[] Rechecksummed(byte[] file, uint bits)
    {
        var entries = (int)BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(112));
        var users = (int)BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(16));
        for (var i = 0; i < users; i++)
        {
            var at = file.AsSpan(entries + (i * 16) + 12, 4);
            BinaryPrimitives.WriteUInt32LittleEndian(at, BinaryPrimitives.ReadUInt32LittleEndian(at) | bits);
        }

        var checksum = new XxHash3();
        checksum.Append(file.AsSpan(0, 120));
        checksum.Append(file.AsSpan(128));
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(120), checksum.GetCurrentHashAsUInt64());
        return file;
    }
}
