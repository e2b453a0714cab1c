using System.Globalization;
using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Files = ConsentFilter.Tests.Consent.ConsentCsvParallelCompilerTests.Arbitraries;

namespace ConsentFilter.Tests.Consent;

/// <summary>
/// <c>snapshot build</c> of a plain consent CSV file reads its rows on every core: the file it writes is byte for byte the
/// sequential build's, whatever the block size and spills; a file it declines is built by the sequential reader.
/// </summary>
public sealed class PlainCsvBuildTests : IDisposable
{
    private static readonly string[] s_purposes = ["ai_training", "analytics"];

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Property(MaxTest = 250)]
    public Property ParallelBuild_AnyFileAnyBlockSize_IsByteIdenticalToTheSequentialBuild() => Prop.ForAll(
        Files.Files(),
        Gen.Choose(1, 9).ToArbitrary(),
        (Files.ConsentFile input, int runRows) =>
        {
            var csv = _temp.Write($"c{Guid.NewGuid():N}.csv", input.Bytes);
            // Blocks from 128 bytes (the longest generated line fits) up: small files are cut into many blocks.
            var options = new SnapshotBuildOptions { RunRows = runRows, Seed = 977, PlainBlockBytes = 128 + input.ChunkBytes };
            var a = _temp.File($"{Guid.NewGuid():N}.snap");
            var b = _temp.File($"{Guid.NewGuid():N}.snap");
            try
            {
                var sequential = Outcome(() => CompiledSnapshotBuilder.BuildFromCsv(new MemoryStream(input.Bytes), csv, a, s_purposes, options, default), a);
                using var file = File.OpenRead(csv);
                var parallel = Outcome(() => ExternalSnapshotBuilder.TryBuildFromPlainCsv(file, csv, s_purposes, b, options, default), b);
                if (parallel is null)
                {
                    return (!input.ExpectRead && !File.Exists(b)).Label($"declined a plain valid file (or left an output)\n{input}");
                }

                return (sequential == parallel).Label($"sequential: {sequential}\nparallel:   {parallel}\nblock {options.PlainBlockBytes}\n{input}");
            }
            finally
            {
                File.Delete(csv);
                File.Delete(a);
                File.Delete(b);
            }
        });

    [Fact]
    public void BuildFromCsv_InvalidRowAfterManyPlainBlocks_ReportsItsLineAndLeavesNothingBehind()
    {
        var csv = new StringBuilder("user_id,ai_training,updated_at\n");
        for (var i = 0; i < 3000; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"u{i},{(i % 2 == 0 ? "granted" : "denied")},2026-01-01T00:00:00Z\n");
        }

        csv.Append("u3000,maybe,\n");
        var path = _temp.Write("c.csv", csv.ToString());
        var output = _temp.File("c.snap");
        var options = new SnapshotBuildOptions { RunRows = 500, PlainBlockBytes = 4096 };
        var error = Assert.Throws<DataFileException>(() => CompiledSnapshotBuilder.BuildFromCsv(path, output, ["ai_training"], options));
        Assert.Equal($"{path}:3002:2: invalid consent value 'maybe' (expected granted/denied/unset or a synonym)", error.Message);
        Assert.Equal(["c.csv"], _temp.FileNames());
    }

    [Fact]
    public void BuildFromCsv_PlainFileWithSpills_DecidesAsTheLoadedCsv()
    {
        var csv = new StringBuilder("user_id,region,ai_training,updated_at\n");
        for (var i = 0; i < 5000; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"u{i % 3500},{(i % 3 == 0 ? "de" : "US")},{(i % 2 == 0 ? "granted" : "denied")},2026-01-{1 + (i % 28):D2}T00:00:00Z\n");
        }

        var path = _temp.Write("c.csv", csv.ToString());
        var output = _temp.File("c.snap");
        var summary = CompiledSnapshotBuilder.BuildFromCsv(path, output, ["ai_training"], new SnapshotBuildOptions { RunRows = 700, PlainBlockBytes = 8192 });
        var loaded = ConsentCsvLoader.LoadFile(path, ["ai_training"], null);
        using var compiled = CompiledSnapshot.Open(output);
        Assert.Equal((3500L, 5000L, loaded.Info.Conflicts), (summary.Users, summary.Rows, summary.Conflicts));
        Assert.Equal(loaded.Info.Sha256, compiled.Info.Sha256);
        foreach (var (id, consent) in loaded.Users)
        {
            Assert.True(compiled.TryGetUser(id, out var found));
            Assert.Equal((consent.States, consent.Gpc, consent.Minor, string.Join('|', consent.HomeRegions)), (found.States, found.Gpc, found.Minor, string.Join('|', found.HomeRegions)));
        }
    }

    /// <summary>The summary and the file's bytes, the error, or null when the build declined.</summary>
    private static string? Outcome(Func<CompiledSnapshotSummary?> build, string path)
    {
        try
        {
            return build() is { } summary ? $"{summary with { Path = "" }} {Convert.ToHexString(File.ReadAllBytes(path))}" : null;
        }
        catch (DataFileException e)
        {
            return "error: " + e.Message;
        }
    }
}
