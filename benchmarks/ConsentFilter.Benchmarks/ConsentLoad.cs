using System.Diagnostics;
using System.Globalization;
using ConsentFilter.Consent;
using DuckDB.NET.Data;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// Consent loading figures (issue 13 item 4, issue 14 numbers), each the median of several runs with CPU time beside wall
/// time: <c>consent-load</c> times the filter's start-up load of a consent CSV in process (the stream and the path
/// overloads, and with the in-memory compile the filter does next); <c>snapshot-build</c> times
/// <c>consentfilter snapshot build</c> as a process (peak RSS sampled from /proc) side by side with DuckDB loading and
/// merging the same CSV (latest <c>updated_at</c> plus undated rows, most restrictive, regions collected).
/// </summary>
internal static class ConsentLoad
{
    private static readonly string s_directory = Path.Combine(Path.GetTempPath(), "consentfilter-bench");

    /// <summary><c>consent-load [--users 200000,2000000] [--runs 5]</c>.</summary>
    internal static int RunLoad(string[] args)
    {
        var users = Option(args, "--users", "200000,2000000").Split(',').Select(u => long.Parse(u, CultureInfo.InvariantCulture)).ToArray();
        var runs = int.Parse(Option(args, "--runs", "5"), CultureInfo.InvariantCulture);
        string[] purposes = ["ai_training"];
        Console.WriteLine($"consent-load: {Environment.ProcessorCount} cores, load average {LoadAverage()}, median of {runs} (after one warm-up run each)");
        foreach (var count in users)
        {
            var csv = ExportCsv(count);
            var sequential = ConsentSnapshot.LoadCsv(File.OpenRead(csv), csv, purposes);
            var rows = sequential.Info.Rows;
            var parallel = ConsentSnapshot.LoadCsv(csv, purposes);
            if (parallel.Info != sequential.Info || parallel.Users.Count != sequential.Users.Count)
            {
                throw new InvalidOperationException($"the path load differs: {parallel.Info} vs {sequential.Info}");
            }

            using (var startUp = SnapshotFiles.OpenForLookups(csv, purposes) as IDisposable)
            {
                // The filter's start-up must take the parallel path on this file and describe it as the sequential load does.
                if (startUp is not CompiledSnapshot compiled || compiled.Info != sequential.Info)
                {
                    throw new InvalidOperationException($"the filter's start-up load did not compile in parallel or differs: {(startUp as IConsentSnapshot)?.Info}");
                }
            }

            sequential = null;
            parallel = null;
            var megabytes = new FileInfo(csv).Length / 1e6;
            Console.WriteLine($"{count:N0} users, {rows:N0} rows, {megabytes:F0} MB:");
            Report("  LoadCsv(stream)", rows, Median(runs, () => Measure(() =>
            {
                using var stream = File.OpenRead(csv);
                return ConsentSnapshot.LoadCsv(stream, csv, purposes);
            })));
            Report("  LoadCsv(path), what filter/explain use", rows, Median(runs, () => Measure(() => ConsentSnapshot.LoadCsv(csv, purposes))));
            Report("  LoadCsv(path) + in-memory compile (the filter's start-up before the parallel compile)", rows, Median(runs, () => Measure(() =>
            {
                var loaded = ConsentSnapshot.LoadCsv(csv, purposes);
                CompiledSnapshotBuilder.CompileInMemory(loaded)?.Dispose();
                return loaded;
            })));
            Report("  filter start-up: CSV compiled in memory on every core (SnapshotFiles.OpenForLookups)", rows, Median(runs, () => Measure(() =>
            {
                (SnapshotFiles.OpenForLookups(csv, purposes) as IDisposable)?.Dispose();
                return null;
            })));
        }

        return 0;
    }

    /// <summary><c>snapshot-build [--users 10000000] [--runs 3] [--memory 1GiB] [--native PATH] [--no-duckdb]</c>.</summary>
    internal static int RunBuild(string[] args)
    {
        var users = long.Parse(Option(args, "--users", "10000000"), CultureInfo.InvariantCulture);
        var runs = int.Parse(Option(args, "--runs", "3"), CultureInfo.InvariantCulture);
        var memory = Option(args, "--memory", "1GiB");
        var cli = CliUnderTest.Native(args) ?? CliUnderTest.Managed;
        var csv = ExportCsv(users);
        var snap = Path.Combine(s_directory, $"consent-export-{users}.snap");
        Console.WriteLine($"snapshot-build: {users:N0} users, {new FileInfo(csv).Length / 1e6:F0} MB CSV, {Environment.ProcessorCount} cores, load average {LoadAverage()}, median of {runs}");

        if (!args.Contains("--no-duckdb"))
        {
            // First, while this process is small: its peak RSS afterwards is DuckDB's (plus the runtime's ~60 MiB).
            long merged = 0;
            var duck = Median(runs, () => Measure(() => merged = DuckDbMerge(csv)), warmUp: false);
            Report($"  DuckDB {DuckDbVersion()} (read_csv, window max(updated_at), group by user; threads = cores)", 0, duck);
            Console.WriteLine($"    users {merged:N0}, process peak RSS {EndToEnd.ReadPeakRss(Environment.ProcessId) / 1048576.0:F0} MiB");
        }

        string[] arguments = ["snapshot", "build", "--consent", csv, "--out", snap, "--memory", memory];
        Console.WriteLine($"  $ {cli.ShellPrefix} {string.Join(' ', arguments)}");
        long peak = 0;
        var build = Median(runs, () =>
        {
            var (result, rss) = MeasureProcess(cli, arguments);
            peak = Math.Max(peak, rss);
            return result;
        }, warmUp: false);
        Report($"  consentfilter snapshot build ({cli.Name}, --memory {memory})", 0, build);
        using (var snapshot = CompiledSnapshot.Open(snap))
        {
            Console.WriteLine($"    users {snapshot.Info.Users:N0}, rows {snapshot.Info.Rows:N0}, conflicts {snapshot.Info.Conflicts:N0}, file {new FileInfo(snap).Length / 1048576.0:F0} MiB, peak RSS {peak / 1048576.0:F0} MiB");
            Console.WriteLine($"    per row: {build.Cpu / snapshot.Info.Rows * 1e6:F2} µs CPU, {build.Wall / snapshot.Info.Rows * 1e6:F2} µs wall");
        }

        return 0;
    }

    /// <summary>DuckDB's load-and-merge of a consent export by the SPEC's row rules; returns the number of users.</summary>
    private static long DuckDbMerge(string csv)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $$"""
            SET threads = {{Environment.ProcessorCount}};
            CREATE TABLE merged AS
            WITH c AS (
                SELECT user_id, nullif(upper(trim(region)), '') AS region,
                    CASE lower(trim(ai_training)) WHEN 'denied' THEN 2 WHEN 'opt_out' THEN 2 WHEN 'granted' THEN 0 ELSE 1 END AS state,
                    lower(trim(gpc)) IN ('true', '1', 'yes') AS gpc, lower(trim(minor)) IN ('true', '1', 'yes') AS minor,
                    CAST(nullif(trim(updated_at), '') AS TIMESTAMPTZ) AS ts
                FROM read_csv('{{csv}}', header = true, all_varchar = true)),
            w AS (SELECT *, max(ts) OVER (PARTITION BY user_id) AS latest FROM c)
            SELECT user_id, max(state) AS state, bool_or(gpc) AS gpc, bool_or(minor) AS minor, list(DISTINCT region) AS regions
            FROM w WHERE ts IS NULL OR ts = latest GROUP BY user_id;
            SELECT count(*) FROM merged;
            """;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static string DuckDbVersion()
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version()";
        return (string)command.ExecuteScalar()!;
    }

    /// <summary>The consent export of <paramref name="users"/> users (generated once; <c>consent-csv</c>'s shape).</summary>
    private static string ExportCsv(long users)
    {
        Directory.CreateDirectory(s_directory);
        var csv = Path.Combine(s_directory, $"consent-export-{users}.csv");
        if (!File.Exists(csv))
        {
            var partial = csv + ".partial";
            SnapshotScale.WriteExportCsv([users.ToString(CultureInfo.InvariantCulture), partial]);
            File.Move(partial, csv);
        }

        return csv;
    }

    private readonly record struct Result(double Wall, double Cpu);

    private static Result Measure(Func<object?> action)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var cpu = CpuTime.Self();
        var clock = Stopwatch.StartNew();
        GC.KeepAlive(action());
        return new Result(clock.Elapsed.TotalSeconds, CpuTime.Self() - cpu);
    }

    private static (Result Result, long PeakRss) MeasureProcess(CliUnderTest cli, string[] arguments)
    {
        var cpu = CpuTime.Children();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(cli.StartInfo(arguments))!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        long peak = 0;
        while (!process.WaitForExit(20))
        {
            peak = Math.Max(peak, EndToEnd.ReadPeakRss(process.Id));
        }

        var result = new Result(clock.Elapsed.TotalSeconds, CpuTime.Children() - cpu);
        return process.ExitCode == 0 ? (result, peak) : throw new InvalidOperationException($"consentfilter exited {process.ExitCode}: {stderr.Result}{stdout.Result}");
    }

    /// <summary>Runs once to warm up (in process: the JIT), then <paramref name="runs"/> times; the median wall and the median CPU time, each on its own.</summary>
    private static Result Median(int runs, Func<Result> run, bool warmUp = true)
    {
        if (warmUp)
        {
            run();
        }

        var results = Enumerable.Range(0, runs).Select(_ => run()).ToList();
        var wall = results.Select(r => r.Wall).Order().ToList();
        var cpu = results.Select(r => r.Cpu).Order().ToList();
        return new Result(wall[wall.Count / 2], cpu[cpu.Count / 2]);
    }

    private static void Report(string name, long rows, Result result)
    {
        var rate = rows > 0 ? $", {rows / result.Wall:N0} rows/s" : "";
        Console.WriteLine($"{name}: wall {result.Wall:F3} s, CPU {result.Cpu:F3} s{rate}");
    }

    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static string Option(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
