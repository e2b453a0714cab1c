using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Tabular;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Pipeline;

/// <summary>The streamed manifest writer gives exactly the bytes of the JSON-tree serialization it replaced.</summary>
public sealed class RunManifestTests
{
    private static readonly Lazy<FilterReport> Report = new(RunSample);

    [Property(MaxTest = 60)]
    public Property WriteAsync_AnySummary_SameBytesAsReferenceSerialization() => Prop.ForAll(
        (from kept in Gen.OneOf(Gen.Choose(0, 40), Gen.Choose(0, 40_000), Gen.Constant(RunManifest.HashSegmentBytes / 8))
         from dropped in Gen.OneOf(Gen.Choose(0, 40), Gen.Choose(0, 40_000))
         from regions in Gen.Choose(0, 5)
         from seed in Gen.Choose(0, int.MaxValue)
         from overflowed in Gen.Frequency((1, Gen.Constant(true)), (6, Gen.Constant(false)))
         from keyIsSecret in Gen.Elements(false, true)
         select (kept, dropped, regions, seed, overflowed, keyIsSecret)).ToArbitrary(),
        t => Same(t.kept, t.dropped, t.regions, t.seed, t.overflowed, t.keyIsSecret));

    [Fact]
    public void WriteAsync_ManyHashes_SameBytesAsReferenceSerialization()
    {
        // About the summary of a 1M-record run: many base64 segments for each of kept and dropped.
        Assert.True(Same(313_643, 433_007, 16, 42, overflowed: false, keyIsSecret: false));
    }

    [Fact]
    public async Task TakenSummary_LaterUse_Throws()
    {
        var summary = Summary([1, 2, 3], [4], 1, overflowed: false);
        _ = await SortedSummary.Start(summary).Kept;
        Assert.Throws<InvalidOperationException>(() => summary.Kept.Add(5));
        Assert.Throws<InvalidOperationException>(() => summary.Kept.Contains(1));
    }

    private static bool Same(int keptCount, int droppedCount, int regionCount, int seed, bool overflowed, bool keyIsSecret)
    {
        var random = new Random(seed);
        // Duplicates and a zero among the values: the set stores 0 as 1 and each value once.
        ulong[] Values(int count) => [.. Enumerable.Range(0, count).Select(i => i % 97 == 5 ? 0UL : (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40)), .. Enumerable.Range(0, count / 10).Select(_ => 7UL)];
        var kept = Values(keptCount);
        var dropped = Values(droppedCount);
        var summary = Summary(kept, dropped, regionCount, overflowed);
        var report = Report.Value;
        string[] inputDigests = [.. report.Inputs.Select((_, i) => new string((char)('a' + i), 64))];
        var key = (ulong)random.NextInt64();

        var expected = Reference(report, new string('f', 64), inputDigests, key, summary.Overflowed, summary.Regions, kept, dropped, keyIsSecret);
        using var actual = new MemoryStream();
        RunManifest.WriteAsync(actual, report, new string('f', 64), inputDigests, key, SortedSummary.Start(summary), keyIsSecret, CancellationToken.None).GetAwaiter().GetResult();
        return expected.AsSpan().SequenceEqual(actual.ToArray());
    }

    private static OutputSummary Summary(ulong[] kept, ulong[] dropped, int regionCount, bool overflowed)
    {
        var summary = new OutputSummary(overflowed ? 1 : OutputSummary.MaxEntries);
        var part = new OutputSummary();
        part.KeptPending.AddRange(kept);
        part.DroppedPending.AddRange(dropped);
        foreach (var region in new[] { "=US-CA", "", "=DE", "=ÉÜ\"<&>", "=BR" }.Take(regionCount))
        {
            part.AddRegion(region);
        }

        summary.Add(part);
        summary.Add(part);
        return summary;
    }

    /// <summary>A run over two small inputs whose names need escaping, for the report's part of the manifest.</summary>
    private static FilterReport RunSample()
    {
        var corpus = new TabularCorpus(50, 3);
        var options = new ConsentFilterOptions();
        options.SubjectFields.Add("recipients");
        options.SubjectFields.Add("cc \"x\"");
        using var filter = new RecordFilter(TabularCorpus.Policy(), options);
        RecordInput Input(string name) => RecordInput.FromStream(new MemoryStream(Encoding.UTF8.GetBytes(corpus.Jsonl())), name, format: RecordFormat.JsonLines);
        return filter.RunAsync([Input("dir/ü é\"quote<&>+.jsonl"), Input("second\t.jsonl")], new FilterOutputs(new MemoryStream())).GetAwaiter().GetResult();
    }

    /// <summary>The manifest as it was serialized before the streamed writer (a JSON tree, whole base64 strings): the oracle.</summary>
    private static byte[] Reference(
        FilterReport report, string outputDigest, IReadOnlyList<string> inputDigests, ulong summaryKey, bool overflowed, IReadOnlySet<string> regions, ulong[] kept, ulong[] dropped, bool keyIsSecret)
    {
        var digest = "blake3";
        var inputs = new JsonArray();
        for (var i = 0; i < report.Inputs.Count; i++)
        {
            var input = report.Inputs[i];
            inputs.Add((JsonNode)new JsonObject
            {
                ["path"] = input.Path,
                [digest] = inputDigests[i],
                ["records"] = input.Counts.Records,
                ["kept"] = input.Counts.Kept,
                ["dropped"] = input.Counts.DroppedTotal,
                ["quarantined"] = input.Counts.QuarantinedTotal,
            });
        }

        var manifest = new JsonObject
        {
            ["schema"] = "consentfilter.manifest/v2",
            ["digest"] = digest,
            ["output"] = new JsonObject { [digest] = outputDigest, ["records"] = report.Totals.Kept },
            ["inputs"] = inputs,
            ["purpose"] = report.Purpose,
            ["snapshot"] = new JsonObject
            {
                ["sha256"] = report.Snapshot.Sha256,
                ["as_of"] = report.Snapshot.AsOf?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", CultureInfo.InvariantCulture),
                ["users"] = report.Snapshot.Users,
            },
            ["jurisdictions"] = new JsonObject
            {
                ["sha256"] = report.Jurisdictions.Sha256,
                ["builtin"] = report.Jurisdictions.IsBuiltIn,
                ["as_of"] = report.Jurisdictions.AsOf?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            },
            ["options"] = new JsonObject
            {
                ["user_field"] = report.Options.UserField,
                ["region_field"] = report.Options.RegionField,
                ["subject_fields"] = new JsonArray([.. report.Options.SubjectFields.Select(f => (JsonNode)f)]),
                ["unknown_users"] = report.Options.UnknownUsers == ConsentFilter.Decisions.UnknownUserPolicy.Drop ? "drop" : "treat-as-unset",
                ["max_line_length"] = report.Options.MaxLineLength,
                ["max_subjects"] = report.Options.MaxSubjects,
            },
            ["tool"] = new JsonObject { ["name"] = "consentfilter", ["version"] = FilterReport.ToolVersion },
            ["users"] = new JsonObject
            {
                ["hash"] = "xxh3-64(user id bytes, 0xFF, normalized record region as UTF-16LE)",
                ["seed"] = keyIsSecret ? null : summaryKey.ToString(CultureInfo.InvariantCulture),
                ["overflowed"] = overflowed,
                ["regions"] = overflowed ? null : new JsonArray([.. regions.Order(StringComparer.Ordinal).Select(r => (JsonNode)r)]),
                ["kept"] = overflowed ? null : Pack(kept),
                ["dropped"] = overflowed ? null : Pack(dropped),
            },
        };

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            manifest.WriteTo(json);
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static JsonObject Pack(ulong[] values)
    {
        var sorted = values.Select(v => v == 0 ? 1 : v).Distinct().Order().ToArray();
        var packed = new byte[sorted.Length * 8];
        for (var i = 0; i < sorted.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(packed.AsSpan(i * 8), sorted[i]);
        }

        return new JsonObject { ["count"] = sorted.Length, ["hashes"] = Convert.ToBase64String(packed) };
    }
}
