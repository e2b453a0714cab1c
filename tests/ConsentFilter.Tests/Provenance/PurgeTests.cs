using ConsentFilter.Pipeline;
using System.Text;
using ConsentFilter.Cli;
using ConsentFilter.Provenance;

namespace ConsentFilter.Tests.Provenance;

/// <summary>Manifests, verify and purge: after consent changes, only affected outputs change, and they equal a fresh run.</summary>
public sealed class PurgeTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("cf-purge-").FullName;
    private readonly string _root = Docs.ReadmeTests.RepositoryRoot();

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task Purge_RevokedUsersAndChangedRegime_OutputsEqualAFreshRunAndUntouchedOnesKeepBytesAndTime()
    {
        var inputs = SplitSamples(8);
        var consentA = Path.Combine(_root, "samples", "consent.csv");
        var tableA = Path.Combine(_root, "samples", "jurisdictions.csv");
        var dataset = Path.Combine(_temp, "dataset");
        Assert.Equal(0, await Cli([.. Common(inputs, consentA, tableA), "--out-dir", dataset]));

        // B: a few percent of users revoke, and one region's regime changes.
        var lines = await File.ReadAllLinesAsync(consentA);
        var revoked = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < lines.Length; i += 37)
        {
            var fields = lines[i].Split(',');
            fields[2] = "denied";
            revoked.Add(fields[0]);
            lines[i] = string.Join(',', fields);
        }

        var consentB = Path.Combine(_temp, "consent-b.csv");
        await File.WriteAllLinesAsync(consentB, lines);
        var tableB = Path.Combine(_temp, "jurisdictions-b.csv");
        await File.WriteAllTextAsync(tableB, (await File.ReadAllTextAsync(tableA)).Replace("CN,excluded", "CN,opt-out", StringComparison.Ordinal));

        var before = inputs.ToDictionary(i => i, i => (Bytes: File.ReadAllBytes(Out(dataset, i)), Time: File.GetLastWriteTimeUtc(Out(dataset, i))));
        await Task.Delay(50);
        var outputs = inputs.Select(i => Out(dataset, i)).ToList();
        var purge = await Purge.RunAsync(outputs, consentB, tableB, null);

        // Every output equals a fresh run with B, byte for byte.
        var fresh = Path.Combine(_temp, "fresh");
        Assert.Equal(0, await Cli([.. Common(inputs, consentB, tableB), "--out-dir", fresh]));
        foreach (var input in inputs)
        {
            Assert.Equal(await File.ReadAllBytesAsync(Out(fresh, input)), await File.ReadAllBytesAsync(Out(dataset, input)));
            Assert.Null(Manifest.Verify(Out(dataset, input)));
        }

        Assert.Equal(inputs.Length, purge.Checked);
        Assert.NotEmpty(purge.Changed);
        Assert.True(purge.RemovedByReason.Values.Sum() > 0);
        foreach (var untouched in purge.Untouched)
        {
            var input = inputs.Single(i => Out(dataset, i) == untouched);
            Assert.Equal(before[input].Bytes, await File.ReadAllBytesAsync(untouched));
            Assert.Equal(before[input].Time, File.GetLastWriteTimeUtc(untouched));
        }

        // An output whose users were all untouched must not have been changed.
        Assert.Equal(inputs.Length, purge.Changed.Count + purge.Untouched.Count);
    }

    [Fact]
    public async Task Purge_OneRevokedUser_ChangesOnlyTheOutputsHoldingThem()
    {
        var inputs = SplitSamples(8);
        var consentA = Path.Combine(_root, "samples", "consent.csv");
        var table = Path.Combine(_root, "samples", "jurisdictions.csv");
        var dataset = Path.Combine(_temp, "dataset");
        Assert.Equal(0, await Cli([.. Common(inputs, consentA, table), "--out-dir", dataset]));

        // Revoke the author of the first kept record of the first output.
        var firstKept = (await File.ReadAllLinesAsync(Out(dataset, inputs[0])))[0];
        var user = System.Text.Json.JsonDocument.Parse(firstKept).RootElement.GetProperty("user_id").ToString();
        var consentB = await RevokeAsync(consentA, user);
        var times = inputs.ToDictionary(i => i, i => File.GetLastWriteTimeUtc(Out(dataset, i)));
        await Task.Delay(50);

        var purge = await Purge.RunAsync([.. inputs.Select(i => Out(dataset, i))], consentB, table, null);

        Assert.Contains(Out(dataset, inputs[0]), purge.Changed);
        Assert.NotEmpty(purge.Untouched);
        var holding = inputs.Where(i => File.ReadLines(i).Any(l => l.Contains($"\"{user}\"", StringComparison.Ordinal))).Select(i => Out(dataset, i)).ToHashSet();
        Assert.Subset(holding, purge.Changed.ToHashSet());
        foreach (var untouched in purge.Untouched)
        {
            Assert.Equal(times[inputs.Single(i => Out(dataset, i) == untouched)], File.GetLastWriteTimeUtc(untouched));
        }

        var fresh = Path.Combine(_temp, "fresh");
        Assert.Equal(0, await Cli([.. Common(inputs, consentB, table), "--out-dir", fresh]));
        foreach (var input in inputs)
        {
            Assert.Equal(await File.ReadAllBytesAsync(Out(fresh, input)), await File.ReadAllBytesAsync(Out(dataset, input)));
        }

        Assert.True(purge.RemovedByReason[ConsentFilter.Decisions.DropReason.OptedOut] > 0);
    }

    [Fact]
    public async Task Purge_OutputRewrittenWithoutManifest_OlderManifestRetiredAndNeverTrusted()
    {
        var inputs = SplitSamples(2);
        var consentA = Path.Combine(_root, "samples", "consent.csv");
        var table = Path.Combine(_root, "samples", "jurisdictions.csv");
        var output = Path.Combine(_temp, "out", "kept.jsonl");
        var manifest = Manifest.PathFor(output);
        Assert.Equal(0, await Cli([.. Common([inputs[0]], consentA, table), "--out", output]));
        var older = await File.ReadAllBytesAsync(manifest);

        // The same output rewritten from other records without a manifest: the older one must not stay beside it.
        Assert.Equal(0, await Cli([.. Common([inputs[1]], consentA, table), "--out", output, "--no-manifest"]));
        Assert.False(File.Exists(manifest), "an older run's manifest stayed beside an output rewritten without one");

        // Should one still be there (a crash between the commit and its removal, an older tool), purge must not trust it:
        // revoke a user who is in the new output only, so the older manifest's user summary cannot know them.
        await File.WriteAllBytesAsync(manifest, older);
        var firstRun = await File.ReadAllTextAsync(inputs[0]);
        var user = (await File.ReadAllLinesAsync(output))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("user_id").ToString())
            .First(u => !firstRun.Contains($"\"{u}\"", StringComparison.Ordinal));
        var consentB = await RevokeAsync(consentA, user);

        var purge = await Purge.RunAsync([output], consentB, table, null);

        Assert.Equal([output], purge.Changed);
        Assert.Contains(purge.Warnings, w => w.Contains("does not describe", StringComparison.Ordinal));
        Assert.DoesNotContain(File.ReadLines(output), l => l.Contains($"\"{user}\"", StringComparison.Ordinal));
        Assert.Null(Manifest.Verify(output));
    }

    [Fact]
    public async Task PurgeCli_OutputWithoutManifest_CoSubjectFieldsGivenAreRead()
    {
        var inputs = SplitSamples(1);
        var consentA = Path.Combine(_root, "samples", "consent.csv");
        var table = Path.Combine(_root, "samples", "jurisdictions.csv");
        var output = Path.Combine(_temp, "out", "kept.jsonl");
        Assert.Equal(0, await Cli([.. Common(inputs, consentA, table), "--out", output, "--no-manifest"]));

        // Revoke a user who is a co-subject of some kept record and the author of none.
        var kept = await File.ReadAllLinesAsync(output);
        var authors = kept.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("user_id").ToString()).ToHashSet(StringComparer.Ordinal);
        var recipient = kept
            .SelectMany(l => System.Text.Json.JsonDocument.Parse(l).RootElement.TryGetProperty("recipients", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.Array
                ? r.EnumerateArray().Select(e => e.ToString()).ToArray()
                : [])
            .First(u => !authors.Contains(u));
        var consentB = await RevokeAsync(consentA, recipient);
        var stderr = new StringWriter();

        var code = await ConsoleApp.RunAsync(["purge", "--datasets", output, "--consent", consentB, "--jurisdictions", table, "--subject-field", "recipients"], new StringWriter(), stderr);

        Assert.True(code == 0, stderr.ToString());
        Assert.Contains("co-subject fields recipients", stderr.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(File.ReadLines(output), l => l.Contains($"\"{recipient}\"", StringComparison.Ordinal));
        Assert.True(File.ReadLines(output).Count() < kept.Length);
    }

    [Fact]
    public async Task Purge_InputChangedSinceTheRun_NotReadTheOutputIsRefilteredFromItself()
    {
        var dir = Path.Combine(_temp, "changed");
        Directory.CreateDirectory(dir);
        var input = Path.Combine(dir, "in.jsonl");
        await File.WriteAllTextAsync(input, "{\"id\":\"1\",\"user_id\":\"a\"}\n{\"id\":\"2\",\"user_id\":\"b\"}\n");
        var before = Path.Combine(dir, "before.csv");
        var after = Path.Combine(dir, "after.csv");
        var table = Path.Combine(dir, "j.csv");
        await File.WriteAllTextAsync(before, "user_id,region,ai_training\na,US,granted\nb,US,granted\n");
        await File.WriteAllTextAsync(after, "user_id,region,ai_training\na,US,granted\nb,US,denied\n");
        await File.WriteAllTextAsync(table, "code,regime\n*,opt-out\n");
        var output = Path.Combine(dir, "out", "kept.jsonl");
        Assert.Equal(0, await Cli(["filter", "--records", input, "--consent", before, "--jurisdictions", table, "--out", output]));

        // The path the manifest names now holds another file: its records must not replace the output's.
        await File.WriteAllTextAsync(input, "{\"id\":\"X\",\"user_id\":\"a\",\"text\":\"unrelated\"}\n");
        var purge = await Purge.RunAsync([output], after, table, null);

        Assert.Equal("{\"id\":\"1\",\"user_id\":\"a\"}\n", await File.ReadAllTextAsync(output));
        Assert.Contains(purge.Warnings, w => w.Contains("is not the file the output was made from", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Purge_OutputOfStandardInputOrAPipe_NeverReadsThePipeAgain()
    {
        var dir = Path.Combine(_temp, "pipe");
        Directory.CreateDirectory(dir);
        var before = Path.Combine(dir, "before.csv");
        var after = Path.Combine(dir, "after.csv");
        var table = Path.Combine(dir, "j.csv");
        await File.WriteAllTextAsync(before, "user_id,region,ai_training\na,US,granted\nb,US,granted\n");
        await File.WriteAllTextAsync(after, "user_id,region,ai_training\na,US,granted\nb,US,denied\n");
        await File.WriteAllTextAsync(table, "code,regime\n*,opt-out\n");
        var run = await Support.CliProcess.RunAsync(dir, ["filter", "--records", "/dev/stdin", "--consent", before, "--jurisdictions", table, "--out", "kept.jsonl"],
            "{\"id\":\"1\",\"user_id\":\"a\"}\n{\"id\":\"2\",\"user_id\":\"b\"}\n");
        Assert.True(run.ExitCode == 0, run.ToString());
        var output = Path.Combine(dir, "kept.jsonl");

        // The manifest names /dev/stdin: in this process that is another stream (or a terminal), never the records.
        var purge = await Purge.RunAsync([output], after, table, null).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal("{\"id\":\"1\",\"user_id\":\"a\"}\n", await File.ReadAllTextAsync(output));
        Assert.Contains(purge.Warnings, w => w.Contains("not a regular file", StringComparison.Ordinal) || w.Contains("no digest", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Purge_DatedTable_NeverReadEarlierThanTheRunsDay()
    {
        var dir = Path.Combine(_temp, "dated");
        Directory.CreateDirectory(dir);
        var table = Path.Combine(dir, "j.csv");
        await File.WriteAllTextAsync(table, "code,regime,note,effective_from\n*,opt-out,,\nHK,opt-out,,\nHK,excluded,,2026-03-01\n");
        var before = Path.Combine(dir, "t1.csv");
        var after = Path.Combine(dir, "t2.csv");
        await File.WriteAllTextAsync(before, "user_id,region,ai_training,updated_at\na,US,granted,2026-01-01T00:00:00Z\nb,US,granted,2026-01-01T00:00:00Z\n");
        await File.WriteAllTextAsync(after, "user_id,region,ai_training,updated_at\na,US,granted,2026-01-01T00:00:00Z\nb,US,denied,2026-01-01T00:00:00Z\n");
        var input = Path.Combine(dir, "r.jsonl");
        await File.WriteAllTextAsync(input, "{\"id\":\"1\",\"user_id\":\"a\",\"region\":\"HK\"}\n{\"id\":\"2\",\"user_id\":\"a\"}\n{\"id\":\"3\",\"user_id\":\"b\"}\n");
        var output = Path.Combine(dir, "out", "k.jsonl");
        Assert.Equal(0, await Cli(["filter", "--records", input, "--consent", before, "--jurisdictions", table, "--as-of", "2026-06-01", "--out", output]));

        await Purge.RunAsync([output], after, table, null);

        // HK was excluded on the run's day; the new snapshot's older timestamps must not bring its record back.
        Assert.Equal("{\"id\":\"2\",\"user_id\":\"a\"}\n", await File.ReadAllTextAsync(output));
    }

    [Fact]
    public async Task Purge_NothingChanged_TouchesNothing()
    {
        var inputs = SplitSamples(3);
        var consent = Path.Combine(_root, "samples", "consent.csv");
        var table = Path.Combine(_root, "samples", "jurisdictions.csv");
        var dataset = Path.Combine(_temp, "dataset");
        Assert.Equal(0, await Cli([.. Common(inputs, consent, table), "--out-dir", dataset]));

        var purge = await Purge.RunAsync([.. inputs.Select(i => Out(dataset, i))], consent, table, null);

        Assert.Empty(purge.Changed);
        Assert.Equal(inputs.Length, purge.Untouched.Count);
        Assert.Equal(0, purge.RemovedByReason.Values.Sum());
        foreach (var input in inputs)
        {
            Assert.Null(Manifest.Verify(Out(dataset, input)));
        }
    }

    [Fact]
    public async Task Purge_CompressedOutputWithoutManifest_RefilteredFromItself()
    {
        var inputs = SplitSamples(1);
        var consent = Path.Combine(_root, "samples", "consent.csv");
        var table = Path.Combine(_root, "samples", "jurisdictions.csv");
        var output = Path.Combine(_temp, "kept.jsonl.gz");
        Assert.Equal(0, await Cli([.. Common(inputs, consent, table), "--out", output, "--report", Path.Combine(_temp, "r.json"), "--no-manifest"]));

        var purge = await Purge.RunAsync([output], consent, table, null);

        Assert.Equal([output], purge.Changed);
        Assert.Contains(purge.Warnings, w => w.Contains("no manifest", StringComparison.Ordinal));
        Assert.Equal(0, purge.RemovedByReason.Values.Sum());
        using var file = File.OpenRead(output);
        using var plain = ConsentFilter.IO.Compression.OpenRead(file, output);
        using var text = new StreamReader(plain);
        Assert.Equal(858, (await text.ReadToEndAsync()).Count(c => c == '\n'));
        Assert.Empty(Directory.GetFiles(_temp, ".purge-*"));
    }

    [Fact]
    public async Task Purge_CsvOutputWithoutManifest_RefilteredAsCsvNotEmptied()
    {
        var csv = Path.Combine(_temp, "kept.csv");
        var consent = Path.Combine(_temp, "consent.csv");
        await File.WriteAllTextAsync(consent, "user_id,region,ai_training\nu1,US,granted\nu2,US,denied\n");
        await File.WriteAllTextAsync(csv, "user_id,text\nu1,\"hi,\nthere\"\nu2,bye\n");

        var purge = await Purge.RunAsync([csv], consent, null, null);

        Assert.Empty(purge.Skipped);
        Assert.Equal("user_id,text\nu1,\"hi,\nthere\"\n", await File.ReadAllTextAsync(csv));
    }

    [Fact]
    public void Summary_PastItsLimit_IsAbandonedNotGrown()
    {
        var summary = new OutputSummary(maxEntries: 100);
        for (var batch = 0; batch < 5; batch++)
        {
            var part = new OutputSummary();
            part.KeptPending.AddRange(Enumerable.Range(batch * 40, 40).Select(i => (ulong)i + 1));
            part.AddRegion("=DE");
            summary.Add(part);
        }

        Assert.True(summary.Overflowed);
        Assert.Equal(0, summary.Kept.Count);
        Assert.Empty(summary.Regions);
    }

    [Fact]
    public async Task Purge_OverflowedSummary_RefiltersEvenWhenNothingChanged()
    {
        var inputs = SplitSamples(1);
        var consent = Path.Combine(_root, "samples", "consent.csv");
        var table = Path.Combine(_root, "samples", "jurisdictions.csv");
        var output = Path.Combine(_temp, "kept.jsonl");
        Assert.Equal(0, await Cli([.. Common(inputs, consent, table), "--out", output, "--report", Path.Combine(_temp, "r.json")]));
        var manifest = Manifest.Read(Manifest.PathFor(output));
        var users = manifest["users"]!.AsObject();
        users["overflowed"] = true;
        users["kept"] = null;
        users["dropped"] = null;
        users["regions"] = null;
        await File.WriteAllTextAsync(Manifest.PathFor(output), manifest.ToJsonString());
        Assert.Null(Manifest.Verify(output));

        var purge = await Purge.RunAsync([output], consent, table, null);

        Assert.Equal([output], purge.Changed);
        Assert.Null(Manifest.Verify(output));
    }

    [Fact]
    public async Task Verify_FlippedByteOrForeignManifest_Fails()
    {
        var inputs = SplitSamples(2);
        var dataset = Path.Combine(_temp, "dataset");
        Assert.Equal(0, await Cli([.. Common(inputs, Path.Combine(_root, "samples", "consent.csv"), Path.Combine(_root, "samples", "jurisdictions.csv")), "--out-dir", dataset]));
        var first = Out(dataset, inputs[0]);
        var second = Out(dataset, inputs[1]);
        Assert.Equal(0, await Cli(["verify", first, second]));

        var bytes = await File.ReadAllBytesAsync(first);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(first, bytes);
        Assert.NotNull(Manifest.Verify(first));
        Assert.Equal(1, await Cli(["verify", first], expectSuccess: false));

        File.Copy(Manifest.PathFor(first), Manifest.PathFor(second), overwrite: true);
        Assert.Contains("does not match", Manifest.Verify(second), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Manifest_NamesInputsSnapshotTableAndUsers()
    {
        var inputs = SplitSamples(1);
        var output = Path.Combine(_temp, "kept.jsonl");
        Assert.Equal(0, await Cli([.. Common(inputs, Path.Combine(_root, "samples", "consent.csv"), Path.Combine(_root, "samples", "jurisdictions.csv")), "--out", output, "--report", Path.Combine(_temp, "r.json")]));

        var manifest = Manifest.Read(Manifest.PathFor(output));
        Assert.Equal("blake3", manifest["digest"]!.GetValue<string>());
        Assert.Equal(Manifest.Blake3Of(output), manifest["output"]!["blake3"]!.GetValue<string>());
        Assert.Equal(858, manifest["output"]!["records"]!.GetValue<long>());
        Assert.Equal(Manifest.Blake3Of(inputs[0]), manifest["inputs"]![0]!["blake3"]!.GetValue<string>());
        Assert.Equal("ai_training", manifest["purpose"]!.GetValue<string>());
        Assert.NotEmpty(Manifest.UserHashes(manifest));
        var text = await File.ReadAllTextAsync(Manifest.PathFor(output));
        Assert.DoesNotContain("\"u0002", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"u0007", text, StringComparison.Ordinal);
    }

    /// <summary>A copy of <paramref name="consent"/> (the samples' column order) in which <paramref name="user"/> denied ai_training.</summary>
    private async Task<string> RevokeAsync(string consent, string user)
    {
        var revoked = Path.Combine(_temp, "consent-b.csv");
        await File.WriteAllLinesAsync(revoked, (await File.ReadAllLinesAsync(consent)).Select(l =>
        {
            var fields = l.Split(',');
            if (fields[0] == user)
            {
                fields[2] = "denied";
            }

            return string.Join(',', fields);
        }));
        return revoked;
    }

    private static string Out(string dataset, string input) => Path.Combine(dataset, Path.GetFileName(input));

    private string[] SplitSamples(int parts)
    {
        var lines = File.ReadAllLines(Path.Combine(_root, "samples", "records.jsonl"));
        var directory = Path.Combine(_temp, "in");
        Directory.CreateDirectory(directory);
        var size = (lines.Length + parts - 1) / parts;
        return [.. Enumerable.Range(0, parts).Select(p =>
        {
            var path = Path.Combine(directory, $"part{p}.jsonl");
            File.WriteAllText(path, string.Join('\n', lines.Skip(p * size).Take(size)) + "\n", new UTF8Encoding(false));
            return path;
        })];
    }

    private static string[] Common(string[] inputs, string consent, string table) =>
        ["filter", "--records", .. inputs, "--consent", consent, "--jurisdictions", table, "--subject-field", "recipients"];

    private static async Task<int> Cli(string[] args, bool expectSuccess = true)
    {
        var stderr = new StringWriter();
        var code = await ConsoleApp.RunAsync(args, new StringWriter(), stderr);
        if (expectSuccess)
        {
            Assert.True(code == 0, stderr.ToString());
        }

        return code;
    }
}
