using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Consent;

/// <summary>The compiled, memory-mapped snapshot: same decisions as the CSV it came from; corrupt files refused.</summary>
public sealed class CompiledSnapshotTests : IDisposable
{
    private static readonly string[] s_regions = ["", "DE", "us", "US-CA", "CN", "ZZ", " fr "];
    private static readonly string[] s_consent = ["granted", "denied", "", "unset", "YES", "opt_out"];
    private static readonly string[] s_timestamps = ["", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-01"];
    private static readonly string?[] s_recordRegions = [null, "", "DE", "US-CA", "us-tx", "ZZ", "CN"];

    private readonly string _temp = Directory.CreateTempSubdirectory("cf-snap-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Property(MaxTest = 60)]
    public Property Compiled_DecidesExactlyLikeCsv() => Prop.ForAll(
        Gen.Choose(0, 1_000_000).SelectMany(seed => Gen.Choose(1, 60).Select(n => (seed, n))).ToArbitrary(),
        ((int Seed, int Rows) input) =>
        {
            var csv = RandomConsentCsv(new Random(input.Seed), input.Rows);
            var table = JurisdictionTable.Load("code,regime\nDE,opt-in\nUS,opt-out\nUS-CA,opt-out\nCN,excluded\nFR,opt-in\n*,excluded\n"u8, "t.csv");
            var source = ConsentSnapshot.LoadCsv(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "c.csv", ["ai_training", "analytics"]);
            var path = Path.Combine(_temp, $"{input.Seed}-{input.Rows}.snap");
            CompiledSnapshotBuilder.Build(source, path);
            using var compiled = CompiledSnapshot.Open(path);

            foreach (var purpose in new[] { "ai_training", "analytics" })
            {
                var fromCsv = new ConsentPolicy(source, table, purpose);
                var fromFile = new ConsentPolicy(compiled, table, purpose);
                var ids = source.Users.Keys.Concat([Encoding.UTF8.GetBytes("absent"), Encoding.UTF8.GetBytes("U1"), []]);
                foreach (var id in ids)
                {
                    foreach (var region in s_recordRegions)
                    {
                        RegionMatch? match = region is null ? null : fromCsv.ResolveRegion(RegionCode.Normalize(region));
                        if (fromCsv.Decide(id, match) != fromFile.Decide(id, match))
                        {
                            return false;
                        }
                    }
                }
            }

            return compiled.Info.Users == source.Info.Users && compiled.Info.Conflicts == source.Info.Conflicts
                && compiled.Info.Rows == source.Info.Rows && compiled.Info.Sha256 == source.Info.Sha256 && compiled.Info.AsOf == source.Info.AsOf;
        });

    [Fact]
    public void Build_WithBucketSource_RoundTripsAndDecidesAsWithout()
    {
        var source = ConsentSnapshot.LoadCsv(new MemoryStream("user_id,ai_training\nalice,granted\nbob,denied\n"u8.ToArray()), "c.csv", ["ai_training"]);
        var bucket = new SnapshotBucketSource("consent", 81234567, new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1234567));
        var withSource = Path.Combine(_temp, "bucket.snap");
        var without = Path.Combine(_temp, "plain.snap");
        Assert.Equal(bucket, CompiledSnapshotBuilder.Build(source, withSource, bucket).BucketSource);
        CompiledSnapshotBuilder.Build(source, without);

        using var a = CompiledSnapshot.Open(withSource);
        using var b = CompiledSnapshot.Open(without);
        Assert.Equal(bucket, a.BucketSource);
        Assert.Null(b.BucketSource);
        Assert.Equal(CompiledSnapshot.FormatVersion, BitConverter.ToUInt32(File.ReadAllBytes(withSource), 8));
        foreach (var id in new[] { "alice"u8.ToArray(), "bob"u8.ToArray(), "carol"u8.ToArray() })
        {
            Assert.Equal(b.TryGetUser(id, out var expected), a.TryGetUser(id, out var actual));
            Assert.Equal(expected.States, actual.States);
        }
    }

    [Fact]
    public void Open_TruncatedFile_IsRefused()
    {
        var path = BuildSample();
        var bytes = File.ReadAllBytes(path);
        foreach (var cut in new[] { 0, 7, 64, 127, 128, bytes.Length - 16, bytes.Length - 1 })
        {
            var truncated = Path.Combine(_temp, $"cut{cut}.snap");
            File.WriteAllBytes(truncated, bytes[..cut]);
            var error = Assert.Throws<DataFileException>(() => CompiledSnapshot.Open(truncated));
            Assert.Contains(truncated, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Open_AnyFlippedByte_IsRefused()
    {
        var path = BuildSample();
        var bytes = File.ReadAllBytes(path);
        var random = new Random(5);
        for (var trial = 0; trial < 40; trial++)
        {
            var copy = (byte[])bytes.Clone();
            var position = trial < 8 ? trial : random.Next(copy.Length);
            copy[position] ^= (byte)(1 << random.Next(8));
            var corrupt = Path.Combine(_temp, $"flip{trial}.snap");
            File.WriteAllBytes(corrupt, copy);
            Assert.Throws<DataFileException>(() => CompiledSnapshot.Open(corrupt));
        }
    }

    [Fact]
    public void RecordFilterLoad_CsvConsent_SearchesACompiledImage_ButReportsTheCsv()
    {
        var csv = Path.Combine(_temp, "consent.csv");
        File.WriteAllText(csv, RandomConsentCsv(new Random(5), 200));
        var loaded = ConsentSnapshot.LoadCsv(csv, ["ai_training"]);

        using var filter = ConsentFilter.Pipeline.RecordFilter.Load(csv, null, new ConsentFilter.Pipeline.ConsentFilterOptions());

        Assert.IsType<CompiledSnapshot>(filter.Policy.Snapshot);
        Assert.Equal(loaded.Info, filter.Policy.Snapshot.Info);
        Assert.Equal(SnapshotForm.Csv, filter.Policy.Snapshot.Info.Form);
        var direct = new ConsentPolicy(loaded, filter.Policy.Jurisdictions, "ai_training");
        foreach (var id in loaded.Users.Keys.Append(Encoding.UTF8.GetBytes("absent")))
        {
            foreach (var region in s_recordRegions)
            {
                RegionMatch? match = region is null ? null : direct.ResolveRegion(RegionCode.Normalize(region));
                Assert.Equal(direct.Decide(id, match), filter.Policy.Decide(id, match));
            }
        }
    }

    [Fact]
    public void RecordFilterLoad_CsvBeyondTheFormatsRegionSets_IsSearchedAsLoaded()
    {
        // 70,000 distinct home regions: more sets than a compiled snapshot holds (2^16). The run must still work.
        var csv = Path.Combine(_temp, "regions.csv");
        var text = new StringBuilder("user_id,region,ai_training\n");
        for (var i = 0; i < 70_000; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"u{i},R{i},granted\n");
        }

        File.WriteAllText(csv, text.ToString());
        using var filter = ConsentFilter.Pipeline.RecordFilter.Load(csv, null, new ConsentFilter.Pipeline.ConsentFilterOptions());

        Assert.IsType<ConsentSnapshot>(filter.Policy.Snapshot);
        Assert.True(filter.Policy.Snapshot.TryGetUser("u69999"u8, out var consent));
        Assert.Equal(["R69999"], consent.HomeRegions);
    }

    [Fact]
    public void Open_CsvFile_IsNotCompiled()
    {
        var csv = Path.Combine(_temp, "c.csv");
        File.WriteAllText(csv, "user_id,ai_training\nu1,granted\n");
        Assert.False(CompiledSnapshot.IsCompiled(csv));
        Assert.IsType<ConsentSnapshot>(SnapshotFiles.Open(csv, ["ai_training"]));
        Assert.Throws<DataFileException>(() => CompiledSnapshot.Open(csv));
    }

    [Fact]
    public void SnapshotFiles_CompiledWithoutPurpose_IsRefused()
    {
        var path = BuildSample();
        var error = Assert.Throws<DataFileException>(() => SnapshotFiles.Open(path, ["marketing"]));
        Assert.Contains("marketing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_SixteenBytesPerUserPlusHeader()
    {
        var csv = new StringBuilder("user_id,region,ai_training\n");
        for (var i = 0; i < 5000; i++)
        {
            csv.Append(System.Globalization.CultureInfo.InvariantCulture, $"user-{i},DE,granted\n");
        }

        var source = ConsentSnapshot.LoadCsv(new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())), "c.csv", ["ai_training"]);
        var summary = CompiledSnapshotBuilder.Build(source, Path.Combine(_temp, "size.snap"));
        Assert.Equal(5000, summary.Users);
        Assert.Equal(0, summary.Collisions);
        Assert.InRange(summary.Bytes - (5000 * 16), 128, 256);
    }

    private string BuildSample()
    {
        var source = ConsentSnapshot.LoadCsv(new MemoryStream("user_id,region,ai_training\nu1,DE,granted\nu2,US,denied\nu3,,unset\n"u8.ToArray()), "c.csv", ["ai_training"]);
        var path = Path.Combine(_temp, "sample.snap");
        CompiledSnapshotBuilder.Build(source, path);
        using (CompiledSnapshot.Open(path))
        {
        }

        return path;
    }

    private static string RandomConsentCsv(Random random, int rows)
    {
        var csv = new StringBuilder("user_id,region,ai_training,analytics,gpc,minor,updated_at\n");
        for (var i = 0; i < rows; i++)
        {
            // Few distinct ids so duplicates and conflicts are common.
            var id = random.Next(4) == 0 ? random.Next(1000).ToString(System.Globalization.CultureInfo.InvariantCulture) : $"u{random.Next(rows)}";
            csv.Append(id).Append(',')
                .Append(s_regions[random.Next(s_regions.Length)]).Append(',')
                .Append(s_consent[random.Next(s_consent.Length)]).Append(',')
                .Append(s_consent[random.Next(s_consent.Length)]).Append(',')
                .Append(random.Next(4) == 0 ? "true" : "false").Append(',')
                .Append(random.Next(8) == 0 ? "yes" : "").Append(',')
                .Append(s_timestamps[random.Next(s_timestamps.Length)]).Append('\n');
        }

        return csv.ToString();
    }
}
