using System.Text.Json.Nodes;
using ConsentFilter.Cli;
using ConsentFilter.Sharding;

namespace ConsentFilter.Tests.Sharding;

/// <summary>Sharded runs: every file in exactly one task, outputs and merged report equal to one unsharded run's.</summary>
public sealed class ShardingTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("cf-shard-").FullName;
    private readonly string _root = Docs.ReadmeTests.RepositoryRoot();

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(9)]
    public void Plan_EveryFileInExactlyOneTask_Deterministic_Balanced(int tasks)
    {
        var random = new Random(tasks);
        var files = Enumerable.Range(0, 7).Select(i => ($"f{i}.jsonl", (long)random.Next(1, 1000))).ToList();
        var plan = ShardAssignment.Plan(files, tasks);
        var again = ShardAssignment.Plan([.. Enumerable.Reverse(files)], tasks);

        Assert.Equal(files.Select(f => f.Item1).Order(StringComparer.Ordinal), plan.SelectMany(p => p).Order(StringComparer.Ordinal));
        Assert.Equal(plan, again);
        var loads = plan.Select(p => p.Sum(f => files.Single(x => x.Item1 == f).Item2)).ToList();
        Assert.True(loads.Max() - loads.Min() <= files.Max(f => f.Item2), "greedy balance bound");
    }

    [Fact]
    public void Environment_DetectsEachScheduler()
    {
        Assert.Null(ShardEnvironment.Detect(_ => null));
        Assert.Equal(new Shard(2, 5), ShardEnvironment.Detect(Vars(("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "5"))));
        Assert.Equal(new Shard(3, 4), ShardEnvironment.Detect(Vars(("JOB_COMPLETION_INDEX", "3")), count: 4));
        Assert.Equal(new Shard(1, 2), ShardEnvironment.Detect(Vars(("AWS_BATCH_JOB_ARRAY_INDEX", "1"), (ShardEnvironment.CountVariable, "2"))));
        Assert.Throws<InvalidOperationException>(() => ShardEnvironment.Detect(Vars(("JOB_COMPLETION_INDEX", "3"))));
        Assert.Throws<InvalidOperationException>(() => ShardEnvironment.Detect(Vars(("JOB_COMPLETION_INDEX", "4")), count: 4));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task ShardedRun_OutputsAndMergedReportEqualOneRun(int tasks)
    {
        var inputs = SplitSamples();
        var single = await RunAsync([.. Common(inputs), "--out", Path.Combine(_temp, "single.jsonl"), "--report", Path.Combine(_temp, "single.json")]);
        Assert.Equal(0, single);
        var whole = Path.Combine(_temp, "whole");
        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", whole, "--report", Path.Combine(_temp, "whole.json")]));

        var run = Path.Combine(_temp, $"run{tasks}");
        for (var task = 0; task < tasks; task++)
        {
            Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run, "--shard", $"{task}/{tasks}"]));
        }

        foreach (var input in inputs)
        {
            var name = Path.GetFileName(input);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(whole, name)), await File.ReadAllBytesAsync(Path.Combine(run, name)));
        }

        // The per-file outputs concatenated in input order are the single run's output.
        var concatenated = inputs.SelectMany(i => File.ReadAllBytes(Path.Combine(run, Path.GetFileName(i)))).ToArray();
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_temp, "single.jsonl")), concatenated);

        var (merged, missing) = ShardedRun.MergeTasks(run);
        Assert.Empty(missing);
        AssertSameCounts(ReportMerger.Read(Path.Combine(_temp, "single.json")), merged);
        Assert.True(merged["complete"]!.GetValue<bool>());
    }

    [Fact]
    public async Task ShardedRun_TaskStoppedMidRunThenRerun_SameOutputs()
    {
        var inputs = SplitSamples();
        var whole = Path.Combine(_temp, "whole");
        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", whole]));

        var run = Path.Combine(_temp, "run");
        using (var cancel = new CancellationTokenSource())
        {
            // Stop task 0 of 2 as soon as it starts writing: nothing of it may count as done.
            var watcher = Task.Run(async () =>
            {
                while (!Directory.Exists(run))
                {
                    await Task.Delay(1);
                }

                await cancel.CancelAsync();
            });
            var code = await ConsoleApp.RunAsync([.. Common(inputs), "--out-dir", run, "--shard", "0/2"], new StringWriter(), new StringWriter(), cancel.Token);
            await watcher;
            Assert.True(code is 0 or 1);
        }

        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run, "--shard", "1/2"]));

        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run, "--shard", "0/2", "--resume"]));
        foreach (var input in inputs)
        {
            var name = Path.GetFileName(input);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(whole, name)), await File.ReadAllBytesAsync(Path.Combine(run, name)));
        }

        Assert.Empty(Directory.GetFiles(run, "*.tmp", SearchOption.AllDirectories));
        var (merged, missing) = ShardedRun.MergeTasks(run);
        Assert.Empty(missing);
        Assert.Equal(2997, merged["records"]!.GetValue<long>());
    }

    [Fact]
    public async Task Resume_InputChangedOrOutputGone_RedoesThoseFiles()
    {
        var inputs = SplitSamples();
        var run = Path.Combine(_temp, "run");
        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run]));

        // Records appended to one input, its modification time put back (as a copy with preserved times would): only
        // its digest tells. Another input's output deleted, its marker left.
        var grown = inputs[0];
        var time = File.GetLastWriteTimeUtc(grown);
        await File.AppendAllLinesAsync(grown, (await File.ReadAllLinesAsync(inputs[1])).Take(50));
        File.SetLastWriteTimeUtc(grown, time);
        File.Delete(Path.Combine(run, Path.GetFileName(inputs[1])));

        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run, "--resume"]));

        var fresh = Path.Combine(_temp, "fresh");
        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", fresh]));
        foreach (var input in inputs)
        {
            var name = Path.GetFileName(input);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(fresh, name)), await File.ReadAllBytesAsync(Path.Combine(run, name)));
        }
    }

    [Fact]
    public async Task MergeTasks_TasksRunWithOtherOptions_Refused()
    {
        var inputs = SplitSamples();
        var run = Path.Combine(_temp, "run");
        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run, "--shard", "0/2"]));
        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run, "--shard", "1/2", "--unknown-users", "treat-as-unset"]));

        var error = Assert.Throws<InvalidDataException>(() => ShardedRun.MergeTasks(run));
        Assert.Contains("'options'", error.Message, StringComparison.Ordinal);
        var stderr = new StringWriter();
        Assert.Equal(1, await ConsoleApp.RunAsync(["report", "merge", run, "--out", Path.Combine(_temp, "merged.json")], new StringWriter(), stderr));
        Assert.False(File.Exists(Path.Combine(_temp, "merged.json")));
    }

    [Fact]
    public async Task MergeTasks_TasksGivenOtherRecordsLists_OneInputInTwoReports_Refused()
    {
        var inputs = SplitSamples();
        var run = Path.Combine(_temp, "run");
        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run, "--shard", "0/2"]));
        // Task 1 rerun over fewer files: the assignment by size gives it files task 0 already did.
        for (var count = 1; count <= inputs.Length; count++)
        {
            Assert.Equal(0, await RunAsync([.. Common(inputs[..count]), "--out-dir", run, "--shard", "1/2"]));
            var task0 = ReportMerger.Read(Path.Combine(run, "_reports", ReportMerger.TaskReportName(new Shard(0, 2))));
            var task1 = ReportMerger.Read(Path.Combine(run, "_reports", ReportMerger.TaskReportName(new Shard(1, 2))));
            var paths0 = task0["inputs"]!.AsArray().Select(i => i!["path"]!.GetValue<string>()).ToHashSet();
            if (task1["inputs"]!.AsArray().Any(i => paths0.Contains(i!["path"]!.GetValue<string>())))
            {
                var error = Assert.Throws<InvalidDataException>(() => ShardedRun.MergeTasks(run));
                Assert.Contains("more than one task report", error.Message, StringComparison.Ordinal);
                return;
            }
        }

        Assert.Fail("no records list made the tasks overlap; the test needs other inputs");
    }

    [Fact]
    public async Task MergeTasks_ATaskReportWhoseCountsDoNotAddUp_Refused()
    {
        var inputs = SplitSamples();
        var run = Path.Combine(_temp, "run");
        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run]));
        var path = Path.Combine(run, "_reports", ReportMerger.TaskReportName(new Shard(0, 1)));
        var report = ReportMerger.Read(path);
        report["kept"] = report["kept"]!.GetValue<long>() + 5;
        await File.WriteAllTextAsync(path, report.ToJsonString());

        var error = Assert.Throws<InvalidDataException>(() => ShardedRun.MergeTasks(run));
        Assert.Contains("do not add up", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--shard", "0/2")]
    [InlineData("--resume")]
    public async Task ShardOrResumeWithoutOutDir_UsageError(params string[] flag)
    {
        var inputs = SplitSamples();
        var stderr = new StringWriter();

        var code = await ConsoleApp.RunAsync([.. Common(inputs), "--out", Path.Combine(_temp, "kept.jsonl"), .. flag], new StringWriter(), stderr);

        Assert.True(code == 2, stderr.ToString());
        Assert.Contains("--out-dir", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_temp, "kept.jsonl")));
    }

    [Fact]
    public async Task Resume_WithAnotherSnapshot_RedoesTheFiles()
    {
        var inputs = SplitSamples();
        var run = Path.Combine(_temp, "run");
        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run]));

        // Everyone revoked: a resume must not keep the units filtered with the old consent.
        var revoked = Path.Combine(_temp, "revoked.csv");
        var lines = File.ReadAllLines(Path.Combine(_root, "samples", "consent.csv"));
        File.WriteAllLines(revoked, [lines[0], .. lines.Skip(1).Select(l => { var f = l.Split(','); f[2] = "denied"; return string.Join(',', f); })]);
        string[] args = ["filter", "--records", .. inputs, "--consent", revoked, "--jurisdictions", Path.Combine(_root, "samples", "jurisdictions.csv"),
            "--subject-field", "recipients", "--out-dir", run, "--resume"];
        Assert.Equal(0, await RunAsync(args));

        foreach (var input in inputs)
        {
            Assert.Equal(0, new FileInfo(Path.Combine(run, Path.GetFileName(input))).Length);
        }
    }

    [Fact]
    public async Task Merge_MissingTask_IsIncompleteAndExitsOne()
    {
        var inputs = SplitSamples();
        var run = Path.Combine(_temp, "run");
        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run, "--shard", "0/3"]));
        Assert.Equal(0, await RunAsync([.. Common(inputs), "--out-dir", run, "--shard", "2/3"]));

        var stderr = new StringWriter();
        var code = await ConsoleApp.RunAsync(["report", "merge", run, "--out", Path.Combine(_temp, "merged.json")], new StringWriter(), stderr);

        Assert.Equal(1, code);
        Assert.Contains("missing task report(s) 1 of 3", stderr.ToString(), StringComparison.Ordinal);
        var merged = ReportMerger.Read(Path.Combine(_temp, "merged.json"));
        Assert.False(merged["complete"]!.GetValue<bool>());
    }

    private static void AssertSameCounts(JsonObject expected, JsonObject actual)
    {
        foreach (var key in new[] { "records", "kept", "blank_lines" })
        {
            Assert.Equal(expected[key]!.GetValue<long>(), actual[key]!.GetValue<long>());
        }

        Assert.Equal(expected["dropped"]!.ToJsonString(), actual["dropped"]!.ToJsonString());
        Assert.Equal(expected["quarantined"]!.ToJsonString(), actual["quarantined"]!.ToJsonString());
        Assert.Equal(expected["by_region"]!.ToJsonString(), actual["by_region"]!.ToJsonString());
        Assert.Equal(expected["snapshot"]!["sha256"]!.GetValue<string>(), actual["snapshot"]!["sha256"]!.GetValue<string>());
    }

    private string[] SplitSamples()
    {
        var lines = File.ReadAllLines(Path.Combine(_root, "samples", "records.jsonl"));
        var directory = Path.Combine(_temp, "in");
        Directory.CreateDirectory(directory);
        var sizes = new[] { 1000, 200, 700, 50, 1050 };
        var paths = new List<string>();
        var start = 0;
        for (var i = 0; i < sizes.Length; i++)
        {
            var path = Path.Combine(directory, $"part{i}.jsonl");
            File.WriteAllText(path, string.Join('\n', lines.Skip(start).Take(sizes[i])) + "\n");
            start += sizes[i];
            paths.Add(path);
        }

        return [.. paths];
    }

    private string[] Common(string[] inputs) =>
        ["filter", "--records", .. inputs, "--consent", Path.Combine(_root, "samples", "consent.csv"),
         "--jurisdictions", Path.Combine(_root, "samples", "jurisdictions.csv"), "--subject-field", "recipients"];

    private static async Task<int> RunAsync(string[] args)
    {
        var stderr = new StringWriter();
        var code = await ConsoleApp.RunAsync(args, new StringWriter(), stderr);
        Assert.True(code == 0, stderr.ToString());
        return code;
    }

    private static Func<string, string?> Vars(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;
}
