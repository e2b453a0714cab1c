using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;
using ConsentFilter.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Properties;

/// <summary>
/// The properties that define the product (STYLE "Tests"), each checked on generated snapshots, tables and corpora
/// through <see cref="RecordFilter.RunAsync"/> with small batches, so batches split lines and workers race.
/// </summary>
public sealed partial class RecordFilterProperties
{
    private const int SmallBatch = 4096;

    [Property(MaxTest = 60, Arbitrary = [typeof(Arbitraries)])]
    public async Task RunAsync_AnyCorpus_EveryNonBlankLineIsCountedOnce(Scenario scenario)
    {
        foreach (var parallelism in new[] { 1, 3 })
        {
            var run = await RunAsync(scenario, scenario.Options(parallelism, SmallBatch));
            var totals = run.Report.Totals;

            Assert.True(run.Report.IsConserved);
            Assert.Equal(totals.Records, totals.Kept + totals.DroppedTotal + totals.QuarantinedTotal);
            Assert.Equal(scenario.Inputs.Sum(NonBlankLines), totals.Records);
            Assert.Equal(totals.DroppedTotal, DropReasonNames.All.Sum(totals.Dropped));
            Assert.Equal(totals.QuarantinedTotal, MalformedKindNames.All.Sum(totals.Quarantined));
            Assert.Equal(totals.Kept + totals.DroppedTotal, totals.ByRegion.Values.Sum(r => r.Kept + r.Dropped));
            Assert.Equal(totals.Kept, SplitLines(run.Kept).Count);

            Assert.Equal(scenario.Inputs.Count, run.Report.Inputs.Count);
            for (var i = 0; i < scenario.Inputs.Count; i++)
            {
                var counts = run.Report.Inputs[i].Counts;
                var input = scenario.Inputs[i];
                Assert.Equal(counts.Records, counts.Kept + counts.DroppedTotal + counts.QuarantinedTotal);
                Assert.Equal(NonBlankLines(input), counts.Records);
                Assert.Equal(input.PhysicalLines.Count(l => l.Class == LineClass.Blank), counts.BlankLines);
                Assert.Equal(input.ToBytes().Length, counts.Bytes);
            }
        }
    }

    [Property(MaxTest = 60, Arbitrary = [typeof(Arbitraries)])]
    public async Task RunAsync_AnyCorpus_AgreesWithTheReferenceModelOfTheSpec(Scenario scenario)
    {
        var model = new ReferenceModel(scenario);
        var expectedKept = new MemoryStream();
        var expectedDrops = new Dictionary<string, long>(StringComparer.Ordinal);
        var expectedErrors = new Dictionary<string, long>(StringComparer.Ordinal);
        var expectedRejections = new List<string>();
        var expectedQuarantine = new List<string>();
        foreach (var (line, file, number) in scenario.Inputs.SelectMany((input, i) => input.PhysicalLines.Select((line, n) => (line, InputName(i), n + 1))))
        {
            switch (line.Class)
            {
                case LineClass.Malformed:
                    expectedErrors[line.Error!] = expectedErrors.GetValueOrDefault(line.Error!) + 1;
                    expectedQuarantine.Add($"{file}:{number}:{line.Error} {QuarantinedRaw(line)}");
                    break;
                case LineClass.Decided when model.Verdict(line) is { } verdict:
                    expectedDrops[verdict.Reason] = expectedDrops.GetValueOrDefault(verdict.Reason) + 1;
                    expectedRejections.Add($"{file}:{number}:{verdict.Reason} subject {verdict.Subject} {Sha256Hex(verdict.UserId)}");
                    break;
                case LineClass.Decided:
                    expectedKept.Write(line.Content);
                    expectedKept.WriteByte((byte)'\n');
                    break;
            }
        }

        var run = await RunAsync(scenario, scenario.Options(3, SmallBatch));

        Assert.Equal(Encoding.UTF8.GetString(expectedKept.ToArray()), Encoding.UTF8.GetString(run.Kept));
        Assert.Equal(
            DropReasonNames.All.Select(r => $"{r.ToName()}={expectedDrops.GetValueOrDefault(r.ToName())}"),
            DropReasonNames.All.Select(r => $"{r.ToName()}={run.Report.Totals.Dropped(r)}"));
        Assert.Equal(
            MalformedKindNames.All.Select(k => $"{k.ToName()}={expectedErrors.GetValueOrDefault(k.ToName())}"),
            MalformedKindNames.All.Select(k => $"{k.ToName()}={run.Report.Totals.Quarantined(k)}"));

        // The audit trail names the first failing subject and hashes its exact id; the quarantine keeps the raw line.
        Assert.Equal(expectedRejections, ReadLog(run.Rejections, e =>
            $"{e.GetProperty("file").GetString()}:{e.GetProperty("line").GetInt64()}:{e.GetProperty("reason").GetString()} subject {e.GetProperty("subject_index").GetInt32()} {e.GetProperty("user_sha256").GetString()}"));
        Assert.Equal(expectedQuarantine, ReadLog(run.Quarantine, e =>
            $"{e.GetProperty("file").GetString()}:{e.GetProperty("line").GetInt64()}:{e.GetProperty("error").GetString()} " +
            (e.TryGetProperty("raw", out var raw) ? "raw " + raw.GetString()
                : e.TryGetProperty("raw_base64", out var base64) ? "base64 " + base64.GetString()
                : e.TryGetProperty("raw_omitted", out var omitted) && omitted.GetBoolean() ? "omitted" : "?")));
    }

    private static string QuarantinedRaw(RecordLine line) =>
        line.Error == "line_too_long" ? "omitted"
        : line.Error == "invalid_utf8" ? "base64 " + Convert.ToBase64String(line.Content)
        : "raw " + Encoding.UTF8.GetString(line.Content);

    private static string Sha256Hex(string userId) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(userId)));

    [Property(MaxTest = 80, Arbitrary = [typeof(Arbitraries)])]
    public async Task RunAsync_ConsentOrRegimeMadeMoreRestrictive_NeverKeepsAnExtraRecord(Tightening tightening)
    {
        var before = await RunAsync(tightening.Before, tightening.Before.Options(3, SmallBatch));
        var after = await RunAsync(tightening.After, tightening.After.Options(1, SmallBatch));

        var allowed = SplitLines(before.Kept).Select(Encoding.UTF8.GetString).CountBy(l => l).ToDictionary(StringComparer.Ordinal);
        foreach (var (line, count) in SplitLines(after.Kept).Select(Encoding.UTF8.GetString).CountBy(l => l))
        {
            Assert.True(
                allowed.GetValueOrDefault(line) >= count,
                $"after '{tightening.Change}' this line is kept {count} time(s) but was kept {allowed.GetValueOrDefault(line)} time(s) before: {line}");
        }

        Assert.True(after.Report.Totals.Kept <= before.Report.Totals.Kept);
        Assert.Equal(before.Report.Totals.Records, after.Report.Totals.Records);
        Assert.Equal(before.Report.Totals.QuarantinedTotal, after.Report.Totals.QuarantinedTotal);
    }

    [Property(MaxTest = 60, Arbitrary = [typeof(Arbitraries)])]
    public async Task RunAsync_KeptLines_AreInputLinesByteForByteInInputOrder(Scenario scenario)
    {
        var run = await RunAsync(scenario, scenario.Options(3, SmallBatch));

        Assert.True(run.Kept.Length == 0 || run.Kept[^1] == (byte)'\n', "every kept line ends with LF");
        Assert.DoesNotContain("\r\n", Encoding.UTF8.GetString(run.Kept), StringComparison.Ordinal);
        var inputLines = scenario.Inputs.SelectMany(i => i.PhysicalLines).ToList();
        var next = 0;
        foreach (var kept in SplitLines(run.Kept))
        {
            while (next < inputLines.Count && !inputLines[next].Content.AsSpan().SequenceEqual(kept))
            {
                next++;
            }

            Assert.True(next < inputLines.Count, $"kept line is not an input line, or is out of order: {Encoding.UTF8.GetString(kept)}");
            Assert.Equal(LineClass.Decided, inputLines[next].Class);
            next++;
        }
    }

    [Property(MaxTest = 50, Arbitrary = [typeof(Arbitraries)])]
    public async Task RunAsync_OutputFilteredAgain_KeepsEverything(Scenario scenario)
    {
        var first = await RunAsync(scenario, scenario.Options(3, SmallBatch));
        var again = scenario with { Inputs = [] };

        var second = await RunAsync(again, scenario.Options(2, SmallBatch), [first.Kept]);

        Assert.Equal(first.Kept, second.Kept);
        Assert.Equal(first.Report.Totals.Kept, second.Report.Totals.Records);
        Assert.Equal(second.Report.Totals.Records, second.Report.Totals.Kept);
        Assert.Equal(0, second.Report.Totals.BlankLines);
    }

    [Property(MaxTest = 50, Arbitrary = [typeof(Arbitraries)])]
    public async Task RunAsync_ParallelismBatchSizeAndShortReads_DoNotChangeAnyOutput(Scenario scenario, int seed)
    {
        var sequential = await RunAsync(scenario, scenario.Options(1, SmallBatch, channelCapacity: 1));
        var parallel = await RunAsync(
            scenario,
            scenario.Options(3, SmallBatch + 1000 + Math.Abs(seed % 5000), channelCapacity: 2),
            streams: scenario.Inputs.Select((input, i) => (Stream)new ChunkedStream(input.ToBytes(), seed + i, 700)).ToArray());

        Assert.Equal(sequential.Kept, parallel.Kept);
        Assert.Equal(Encoding.UTF8.GetString(sequential.Rejections), Encoding.UTF8.GetString(parallel.Rejections));
        Assert.Equal(Encoding.UTF8.GetString(sequential.Quarantine), Encoding.UTF8.GetString(parallel.Quarantine));
        Assert.Equal(Summary(sequential.Report), Summary(parallel.Report));
    }

    [Property(MaxTest = 50, Arbitrary = [typeof(Arbitraries)])]
    public async Task DecideAsync_EachRecord_AgreesWithRunAsync(Scenario scenario)
    {
        var run = await RunAsync(scenario, scenario.Options(3, SmallBatch));
        var filter = new RecordFilter(scenario.BuildPolicy(), scenario.Options(1, SmallBatch));
        var kept = new MemoryStream();
        var rejections = new List<string>();
        var quarantine = new List<string>();
        for (var i = 0; i < scenario.Inputs.Count; i++)
        {
            var name = InputName(i);
            var physical = scenario.Inputs[i].PhysicalLines.ToList();
            long lastLine = 0, keptHere = 0, droppedHere = 0, quarantinedHere = 0;
            await foreach (var result in filter.DecideAsync(RecordInput.FromStream(new MemoryStream(scenario.Inputs[i].ToBytes()), name)))
            {
                Assert.True(result.LineNumber > lastLine, "results come in input order");
                lastLine = result.LineNumber;
                var line = physical[(int)result.LineNumber - 1];
                Assert.NotEqual(LineClass.Blank, line.Class);
                if (line.Content.Length <= Scenario.MaxLineLength)
                {
                    Assert.Equal(line.Content, result.Line.ToArray());
                }

                switch (result.Outcome)
                {
                    case RecordOutcome.Kept:
                        keptHere++;
                        kept.Write(result.Line.Span);
                        kept.WriteByte((byte)'\n');
                        break;
                    case RecordOutcome.Dropped:
                        droppedHere++;
                        rejections.Add($"{name}:{result.LineNumber}:{result.Verdict.Reason.ToName()}:{result.Verdict.Subject}");
                        break;
                    case RecordOutcome.Quarantined:
                        quarantinedHere++;
                        quarantine.Add($"{name}:{result.LineNumber}:{result.Error.ToName()}");
                        break;
                }
            }

            var counts = run.Report.Inputs[i].Counts;
            Assert.Equal((counts.Kept, counts.DroppedTotal, counts.QuarantinedTotal), (keptHere, droppedHere, quarantinedHere));
        }

        Assert.Equal(run.Kept, kept.ToArray());
        Assert.Equal(rejections, ReadLog(run.Rejections, e => $"{e.GetProperty("file").GetString()}:{e.GetProperty("line").GetInt64()}:{e.GetProperty("reason").GetString()}:{e.GetProperty("subject_index").GetInt32()}"));
        Assert.Equal(quarantine, ReadLog(run.Quarantine, e => $"{e.GetProperty("file").GetString()}:{e.GetProperty("line").GetInt64()}:{e.GetProperty("error").GetString()}"));
    }

    private sealed record RunOutput(byte[] Kept, byte[] Rejections, byte[] Quarantine, FilterReport Report);

    private static string InputName(int index) => $"input{index}.jsonl";

    private static async Task<RunOutput> RunAsync(Scenario scenario, ConsentFilterOptions options, byte[][]? inputs = null, Stream[]? streams = null)
    {
        var filter = new RecordFilter(scenario.BuildPolicy(), options);
        streams ??= (inputs ?? [.. scenario.Inputs.Select(i => i.ToBytes())]).Select(b => (Stream)new MemoryStream(b)).ToArray();
        using var kept = new MemoryStream();
        using var rejections = new MemoryStream();
        using var quarantine = new MemoryStream();
        var report = await filter.RunAsync(
            [.. streams.Select((s, i) => RecordInput.FromStream(s, InputName(i)))],
            new FilterOutputs(kept, rejections, quarantine));
        return new RunOutput(kept.ToArray(), rejections.ToArray(), quarantine.ToArray(), report);
    }

    private static long NonBlankLines(InputFile input) => input.PhysicalLines.Count(l => l.Class != LineClass.Blank);

    private static List<byte[]> SplitLines(byte[] output)
    {
        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < output.Length; i++)
        {
            if (output[i] == (byte)'\n')
            {
                lines.Add(output[start..i]);
                start = i + 1;
            }
        }

        Assert.Equal(output.Length, start);
        return lines;
    }

    private static List<string> ReadLog(byte[] log, Func<JsonElement, string> describe) =>
        [.. SplitLines(log).Select(line =>
        {
            using var json = JsonDocument.Parse(line);
            return describe(json.RootElement);
        })];

    private static string Summary(FilterReport report)
    {
        var text = new StringBuilder();
        foreach (var (name, counts) in new[] { ("total", report.Totals) }.Concat(report.Inputs.Select(i => (i.Path, i.Counts))))
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}: records {counts.Records} kept {counts.Kept} dropped {counts.DroppedTotal} quarantined {counts.QuarantinedTotal} blank {counts.BlankLines} bytes {counts.Bytes};");
            foreach (var reason in DropReasonNames.All)
            {
                text.Append(CultureInfo.InvariantCulture, $" {reason.ToName()} {counts.Dropped(reason)}");
            }

            foreach (var kind in MalformedKindNames.All)
            {
                text.Append(CultureInfo.InvariantCulture, $" {kind.ToName()} {counts.Quarantined(kind)}");
            }

            foreach (var (code, region) in counts.ByRegion.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                text.Append(CultureInfo.InvariantCulture, $" [{code}] {region.Kept}/{region.Dropped}");
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>A scenario and the same scenario with one consent row or one table row made more restrictive.</summary>
    public sealed record Tightening(Scenario Before, Scenario After, string Change)
    {
        public override string ToString() => $"change: {Change}\n{Before}";
    }

    /// <summary>Domain generators: consent snapshots, jurisdiction tables and JSONL corpora with their SPEC meaning.</summary>
    public static partial class Arbitraries
    {
        private static readonly string[] s_snapshotUsers =
            ["u0", "u1", "u2", "u3", "U0", "42", "-5", "-0", "12345678901234567890", "ü-ß", "u 1", "a\"b,c"];

        private static readonly string[] s_ghosts = ["ghost", "u9", "0042", "u0 ", "7"];

        private static readonly string[] s_csvRegions = ["US", " us-ca ", "US-TX", "de", "FR", "CN", "BR", "AU"];

        private static readonly string[] s_recordRegions = ["US", "us-ca", " US-TX ", "DE", "fr", "CN", "AU", "", "GB", "de-BY", "Us-Ca"];

        private static readonly string[] s_tableCodes = ["US", "US-CA", "DE", "FR", "CN", "BR", "GB", "*"];

        private static readonly string[] s_texts =
        [
            "hello", "caf\\u00e9 \\\"quoted\\\" \\\\ back", "tab\\tnew\\nline", "¿Dónde está? 🎉", "\\ud83c\\udf89", "",
        ];

        private static readonly (string Json, string Error)[] s_malformed =
        [
            ("{\"user_id\":\"u1\"", "invalid_json"),
            ("{\"user_id\":\"u1\",}", "invalid_json"),
            ("{\"user_id\":\"u1\"} x", "invalid_json"),
            ("{\"user_id\":\"u1\"}{}", "invalid_json"),
            ("{\"user_id\":\"u1\" /*c*/}", "invalid_json"),
            ("{\"user_id\":NaN}", "invalid_json"),
            ("{\"user_id\":\"u1\",\"text\":\"a\tb\"}", "invalid_json"),
            ("{'user_id':'u1'}", "invalid_json"),
            ("{\"user_id\":01}", "invalid_json"),
            ("\uFEFF{\"user_id\":\"u1\"}", "invalid_json"),
            ("[{\"user_id\":\"u1\"}]", "not_object"),
            ("\"u1\"", "not_object"),
            ("42", "not_object"),
            ("null", "not_object"),
            ("{\"id\":\"x\"}", "missing_user_id"),
            ("{\"user_id\":\"\"}", "missing_user_id"),
            ("{\"user_id\":null,\"region\":\"DE\"}", "missing_user_id"),
            ("{\"meta\":{\"user_id\":\"u1\"}}", "missing_user_id"),
            ("{\"user_id\":true}", "bad_user_id_type"),
            ("{\"user_id\":4.2e1}", "bad_user_id_type"),
            ("{\"user_id\":42.0}", "bad_user_id_type"),
            ("{\"user_id\":{\"id\":\"u1\"}}", "bad_user_id_type"),
            ("{\"user_id\":[\"u1\"]}", "bad_user_id_type"),
            ("{\"user_id\":\"u1\",\"region\":null}", "bad_region_type"),
            ("{\"user_id\":\"u1\",\"region\":49}", "bad_region_type"),
            ("{\"user_id\":\"u1\",\"region\":[\"DE\"]}", "bad_region_type"),
            ("{\"user_id\":\"u1\",\"recipients\":null}", "bad_subject_type"),
            ("{\"user_id\":\"u1\",\"recipients\":\"\"}", "bad_subject_type"),
            ("{\"user_id\":\"u1\",\"recipients\":[[\"u2\"]]}", "bad_subject_type"),
            ("{\"user_id\":\"u1\",\"recipients\":[{\"id\":\"u2\"}]}", "bad_subject_type"),
            ("{\"user_id\":\"u1\",\"recipients\":[\"u2\",null]}", "bad_subject_type"),
            ("{\"user_id\":\"u1\",\"recipients\":[true]}", "bad_subject_type"),
            ("{\"user_id\":\"u1\",\"recipients\":[1.5]}", "bad_subject_type"),
            ("{\"user_id\":\"u1\",\"recipients\":{}}", "bad_subject_type"),
            ("{\"user_id\":\"u1\",\"meta\":{\"mentions\":false}}", "bad_subject_type"),
            ("{\"user_id\":\"u1\",\"user_id\":\"u2\"}", "duplicate_key"),
            ("{\"user_id\":\"u1\",\"user\\u005fid\":\"u1\"}", "duplicate_key"),
            ("{\"user_id\":\"u1\",\"region\":\"DE\",\"region\":\"DE\"}", "duplicate_key"),
            ("{\"user_id\":\"u1\",\"recipients\":[],\"recipients\":[\"u2\"]}", "duplicate_key"),
            ("{\"user_id\":\"u1\",\"meta\":{\"mentions\":\"u2\",\"mentions\":\"u3\"}}", "duplicate_key"),
            ("{\"user_id\":\"u1\",\"meta\":{\"mentions\":\"u2\"},\"meta\":{}}", "duplicate_key"),
            ("{\"user_id\":\"u1\",\"d\":" + new string('[', 64) + new string(']', 64) + "}", "too_deep"),
            ("{\"d\":" + new string('{', 1) + "\"e\":" + new string('[', 63) + new string(']', 63) + "}}", "too_deep"),
        ];

        private static readonly (byte[] Bytes, string Error)[] s_invalidUtf8 =
        [
            ([.. "{\"user_id\":\"u"u8, 0xFF, .. "1\"}"u8], "invalid_utf8"),
            ([.. "{\"user_id\":\"u1\",\"text\":\""u8, 0xC3, .. "\"}"u8], "invalid_utf8"),
            ([.. "{\"user_id\":\"u1\",\"text\":\""u8, 0xED, 0xA0, 0x80, .. "\"}"u8], "invalid_utf8"),
            ([.. "{\"user_id\":\"u1\""u8, 0xFE], "invalid_utf8"),
        ];

        public static Arbitrary<Scenario> Scenarios() => ScenarioGen.ToArbitrary();

        public static Arbitrary<Tightening> Tightenings() =>
            (from scenario in ScenarioGen
             from tightening in Tighten(scenario)
             select tightening).ToArbitrary();

        private static Gen<Scenario> ScenarioGen =>
            from rows in SnapshotGen
            from columns in Gen.Shuffle(Enumerable.Range(0, 7))
            from quoteAll in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
            from table in TableGen
            from header in Gen.Elements(true, false)
            from inputCount in Gen.Frequency((3, Gen.Constant(1)), (2, Gen.Constant(2)), (1, Gen.Constant(3)))
            from inputs in Gen.ArrayOf(InputGen, inputCount)
            from unknownAsUnset in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
            from csvBom in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
            select new Scenario(rows, columns, quoteAll, table, header, inputs, unknownAsUnset, csvBom);

        private static Gen<ConsentRow[]> SnapshotGen =>
            from users in Gen.SubListOf(s_snapshotUsers)
            from perUser in Gen.CollectToArray(users.Select(RowsFor))
            from rows in Gen.Shuffle(perUser.SelectMany(r => r))
            select rows;

        private static Gen<ConsentRow[]> RowsFor(string user) =>
            from count in Gen.Frequency((6, Gen.Constant(1)), (2, Gen.Constant(2)), (1, Gen.Constant(3)))
            from rows in Gen.ArrayOf(RowGen(user), count)
            select rows;

        private static Gen<ConsentRow> RowGen(string user) =>
            from region in Gen.Frequency((2, Gen.Constant(string.Empty)), (5, Gen.Elements(s_csvRegions)))
            from state in Gen.Elements(ConsentState.Granted, ConsentState.Unset, ConsentState.Denied)
            from gpc in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
            from minor in Gen.Frequency((8, Gen.Constant(false)), (1, Gen.Constant(true)))
            from updatedAt in Gen.Frequency(
                (1, Gen.Constant<DateTimeOffset?>(null)),
                (2, from day in Gen.Choose(1, 3)
                    from half in Gen.Choose(0, 1)
                    select (DateTimeOffset?)new DateTimeOffset(2026, 1, day, half * 12, 0, 0, TimeSpan.Zero)))
            from spelling in Gen.Choose(0, 23)
            from note in Gen.Elements(string.Empty, "plain", "with, comma", "with \"quotes\"", "two\nlines")
            select new ConsentRow(user, region, state, gpc, minor, updatedAt, spelling, note);

        private static Gen<TableRow[]> TableGen =>
            from codes in Gen.SubListOf(s_tableCodes)
            from rows in Gen.CollectToArray(codes.Select(TableRowGen))
            from duplicates in Gen.Frequency(
                (4, Gen.Constant(Array.Empty<TableRow>())),
                (1, codes.Count == 0 ? Gen.Constant(Array.Empty<TableRow>()) : Gen.Elements(codes.ToArray()).SelectMany(c => TableRowGen(c)).Select(r => new[] { r })))
            from shuffled in Gen.Shuffle(rows.Concat(duplicates))
            select shuffled;

        private static Gen<TableRow> TableRowGen(string code) =>
            from regime in Gen.Elements(Regime.OptOut, Regime.OptIn, Regime.Excluded)
            from spelling in Gen.Choose(0, 8)
            from note in Gen.Elements<string?>(null, "note", "a, b")
            select new TableRow(code, regime, spelling, note);

        private static Gen<InputFile> InputGen =>
            from bom in Gen.Frequency((5, Gen.Constant(false)), (1, Gen.Constant(true)))
            from lines in Gen.Sized(size => Gen.Choose(0, Math.Max(2, size)).SelectMany(n => Gen.ArrayOf(LineGen, n)))
            from lastEnding in Gen.Elements("keep", "keep", "none")
            select MakeInput(bom, lines, lastEnding == "none");

        private static InputFile MakeInput(bool bom, RecordLine[] lines, bool dropLastEnding)
        {
            if (dropLastEnding && lines.Length > 0)
            {
                lines[^1] = lines[^1] with { Ending = string.Empty };
            }

            // A BOM is stripped only at the very start of a file: a line that starts with one must not come first.
            var startsWithBom = lines.Length > 0 && lines[0].Content.AsSpan().StartsWith("\uFEFF"u8);
            return new InputFile(bom || startsWithBom, lines);
        }

        private static Gen<RecordLine> LineGen =>
            from line in Gen.Frequency(
                (14, ValidLineGen),
                (4, MalformedLineGen),
                (1, Gen.Elements(" ", "\t", "  \t ", string.Empty).Select(RecordLine.Blank)),
                (1, BoundaryLineGen))
            from ending in Gen.Frequency((5, Gen.Constant("\n")), (2, Gen.Constant("\r\n")))
            select line with { Ending = ending };

        private static Gen<RecordLine> MalformedLineGen => Gen.Frequency(
            (8, Gen.Elements(s_malformed).Select(m => RecordLine.Malformed(Encoding.UTF8.GetBytes(m.Json), m.Error))),
            (1, Gen.Elements(s_invalidUtf8).Select(m => RecordLine.Malformed(m.Bytes, m.Error))),
            (1, from extra in Gen.Choose(1, 5000)
                from invalid in Gen.Elements(false, true)
                select RecordLine.Malformed(Padded("u1", Scenario.MaxLineLength + extra, invalid), "line_too_long")));

        /// <summary>Valid lines at the limits: nesting of exactly 64 levels, a line of exactly the maximum length.</summary>
        private static Gen<RecordLine> BoundaryLineGen =>
            from author in Gen.Elements(s_snapshotUsers.Where(u => IsPlain(u)).ToArray())
            from kind in Gen.Choose(0, 2)
            from length in Gen.Choose(100, Scenario.MaxLineLength)
            select kind switch
            {
                0 => RecordLine.Decided($"{{\"user_id\":\"{author}\",\"d\":{new string('[', 63)}{new string(']', 63)}}}", author, null, []),
                1 => new RecordLine(Padded(author, Scenario.MaxLineLength, false), "\n", LineClass.Decided, null, author, null, []),
                _ => new RecordLine(Padded(author, length, false), "\n", LineClass.Decided, null, author, null, []),
            };

        private static Gen<RecordLine> ValidLineGen =>
            from author in Gen.Frequency((8, Gen.Elements(s_snapshotUsers)), (2, Gen.Elements(s_ghosts)))
            from authorStyle in Gen.Choose(0, 11)
            from region in Gen.Frequency((4, Gen.Constant<string?>(null)), (6, Gen.Elements<string?>(s_recordRegions)))
            from regionEscaped in Gen.Frequency((5, Gen.Constant(false)), (1, Gen.Constant(true)))
            from recipients in Gen.Frequency(
                (5, Gen.Constant<string[]?>(null)),
                (1, Gen.Constant<string[]?>([])),
                (3, Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(SubjectGen, n)).Select(a => (string[]?)a)))
            from metaStyle in Gen.Choose(0, 7)
            from mentions in Gen.Choose(1, 2).SelectMany(n => Gen.ArrayOf(SubjectGen, n))
            from idStyles in Gen.ArrayOf(Gen.Choose(0, 11), 6)
            from text in Gen.Elements(s_texts)
            from extras in Gen.SubListOf(
                "\"text\":\"dup key off the decision paths\"",
                "\"x\":{\"user_id\":null,\"region\":5,\"recipients\":[[]],\"meta\":{\"mentions\":true}}",
                "\"n\":-1.5e3",
                "\"b\":true",
                "\"z\":null",
                "\"id\":\"r-7\"",
                "\"arr\":[{\"user_id\":\"u1\"},[\"u2\"]]")
            from spacing in Gen.Choose(0, 3)
            from order in Gen.Choose(0, int.MaxValue)
            select BuildValidLine(author, authorStyle, region, regionEscaped, recipients, metaStyle, mentions, idStyles, text, extras, spacing, order);

        private static Gen<string> SubjectGen => Gen.Frequency((8, Gen.Elements(s_snapshotUsers)), (2, Gen.Elements(s_ghosts)));

        private static RecordLine BuildValidLine(
            string author, int authorStyle, string? region, bool regionEscaped, string[]? recipients, int metaStyle, string[] mentions,
            int[] idStyles, string text, IEnumerable<string> extras, int spacing, int order)
        {
            var members = new List<string>
            {
                (authorStyle == 11 ? "\"user\\u005fid\"" : "\"user_id\"") + ":" + IdJson(author, authorStyle),
                $"\"text\":\"{text}\"",
            };
            if (region is not null)
            {
                members.Add("\"region\":" + JsonString(region, regionEscaped));
            }

            var coSubjects = new List<string>();
            if (recipients is not null)
            {
                members.Add("\"recipients\":[" + string.Join(",", recipients.Select((r, i) => IdJson(r, idStyles[i % idStyles.Length]))) + "]");
                coSubjects.AddRange(recipients);
            }

            switch (metaStyle)
            {
                case 3:
                    members.Add("\"meta\":{\"lang\":\"en\"}");
                    break;
                case 4:
                    members.Add("\"meta\":\"not an object\"");
                    break;
                case 5:
                    members.Add($"\"meta\":{{\"lang\":\"de\",\"mentions\":{IdJson(mentions[0], idStyles[3])}}}");
                    coSubjects.Add(mentions[0]);
                    break;
                case 6:
                    members.Add($"\"meta\":{{\"mentions\":[{string.Join(",", mentions.Select((m, i) => IdJson(m, idStyles[4 + i])))}]}}");
                    coSubjects.AddRange(mentions);
                    break;
                case 7:
                    members.Add("\"meta\":[{\"mentions\":\"u0\"}]");
                    break;
            }

            members.AddRange(extras);
            var random = new Random(order);
            var shuffled = members.OrderBy(_ => random.Next()).ToList();
            var json = spacing switch
            {
                0 => "{" + string.Join(",", shuffled) + "}",
                1 => "{ " + string.Join(", ", shuffled) + " }",
                2 => " {" + string.Join(" ,", shuffled) + "}\t",
                _ => "{" + string.Join(",", shuffled.Select(m => m.Replace("\":", "\" : ", StringComparison.Ordinal))) + "}",
            };
            return RecordLine.Decided(json, author, region, [.. coSubjects]);
        }

        /// <summary>A user id as JSON: an integer literal when the id is one (style 0–3), else a string, sometimes fully escaped.</summary>
        private static string IdJson(string id, int style) =>
            style <= 3 && IntegerLiteral().IsMatch(id) ? id : JsonString(id, escapeAll: style is 9 or 10);

        private static string JsonString(string value, bool escapeAll)
        {
            var json = new StringBuilder("\"");
            foreach (var c in value)
            {
                if (escapeAll || c < 0x20)
                {
                    json.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                }
                else if (c is '"' or '\\')
                {
                    json.Append('\\').Append(c);
                }
                else
                {
                    json.Append(c);
                }
            }

            return json.Append('"').ToString();
        }

        private static bool IsPlain(string id) => id.All(char.IsAsciiLetterOrDigit);

        private static byte[] Padded(string author, int length, bool invalidUtf8)
        {
            var head = Encoding.UTF8.GetBytes($"{{\"user_id\":\"{author}\",\"text\":\"");
            var bytes = new byte[length];
            head.CopyTo(bytes, 0);
            bytes.AsSpan(head.Length, length - head.Length - 2).Fill((byte)'x');
            if (invalidUtf8)
            {
                bytes[head.Length] = 0xFF;
            }

            bytes[^2] = (byte)'"';
            bytes[^1] = (byte)'}';
            return bytes;
        }

        private static Gen<Tightening> Tighten(Scenario scenario)
        {
            var changes = new List<Gen<Tightening>>();
            for (var i = 0; i < scenario.Rows.Count; i++)
            {
                var index = i;
                var row = scenario.Rows[i];
                if (row.State != ConsentState.Denied)
                {
                    changes.Add(Gen.Elements(Enum.GetValues<ConsentState>().Where(s => s > row.State).ToArray())
                        .Select(s => WithRow(scenario, index, row with { State = s }, $"consent row {index} ({row.UserId}) {row.State} → {s}")));
                }

                if (!row.Gpc)
                {
                    changes.Add(Gen.Constant(WithRow(scenario, index, row with { Gpc = true }, $"consent row {index} ({row.UserId}) gpc → true")));
                }

                if (!row.Minor)
                {
                    changes.Add(Gen.Constant(WithRow(scenario, index, row with { Minor = true }, $"consent row {index} ({row.UserId}) minor → true")));
                }
            }

            for (var i = 0; i < scenario.Table.Count; i++)
            {
                var index = i;
                var row = scenario.Table[i];
                if (row.Regime != Regime.Excluded)
                {
                    changes.Add(Gen.Elements(Enum.GetValues<Regime>().Where(r => r > row.Regime).ToArray()).Select(r =>
                    {
                        var table = scenario.Table.ToArray();
                        table[index] = row with { Regime = r };
                        return new Tightening(scenario, scenario.WithTable(table), $"table row {index} ({row.Code}) {row.Regime} → {r}");
                    }));
                }
            }

            if (scenario.Table.Any(r => r.Code == "*"))
            {
                changes.Add(Gen.Constant(new Tightening(scenario, scenario.WithTable([.. scenario.Table.Where(r => r.Code != "*")]), "'*' row removed")));
            }

            foreach (var code in new[] { "AU", "US-TX", "US", "DE", "CN", "*" }.Where(c => !scenario.Table.Any(r => r.Code == c)))
            {
                changes.Add(Gen.Constant(new Tightening(scenario, scenario.WithTable([.. scenario.Table, new TableRow(code, Regime.Excluded, 0, null)]), $"row '{code},excluded' added")));
            }

            return Gen.OneOf(changes);
        }

        private static Tightening WithRow(Scenario scenario, int index, ConsentRow row, string change)
        {
            var rows = scenario.Rows.ToArray();
            rows[index] = row;
            return new Tightening(scenario, scenario.WithRows(rows), change);
        }

        [GeneratedRegex("^-?(0|[1-9][0-9]*)$")]
        private static partial Regex IntegerLiteral();
    }
}
