using System.Diagnostics;
using System.Globalization;
using System.Text;
using ConsentFilter.Consent;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// <c>snapshot-delta [USERS] [CHANGES] [--runs N]</c>: a day's changes applied to a mergeable snapshot
/// (<c>snapshot build --base --changes</c>) against a full rebuild of every row (with and without merge state), each run
/// as a CLI process under <c>/usr/bin/time</c> (wall, user + system CPU, peak RSS), medians printed; then the two
/// results are checked to decide alike (counts, and every changed user plus a sample of the others).
/// </summary>
/// <remarks>
/// Base: <c>consent-csv</c>'s export shape (one user in ten with a second row). Changes: nine in ten rows a newer dated
/// row of an existing user, one in twenty an undated row of an existing user, one in twenty a new user.
/// </remarks>
internal static class SnapshotDelta
{
    internal static int Run(string[] args)
    {
        var positional = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
        var users = positional.Length > 0 ? long.Parse(positional[0], CultureInfo.InvariantCulture) : 10_000_000;
        var changes = positional.Length > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 100_000;
        var runsAt = Array.IndexOf(args, "--runs");
        var runs = runsAt >= 0 ? int.Parse(args[runsAt + 1], CultureInfo.InvariantCulture) : 3;
        var directory = Path.Combine(Path.GetTempPath(), "consentfilter-bench");
        Directory.CreateDirectory(directory);
        var baseCsv = Path.Combine(directory, $"consent-delta-base-{users}.csv");
        var changesCsv = Path.Combine(directory, $"consent-delta-changes-{users}-{changes}.csv");
        var allCsv = Path.Combine(directory, $"consent-delta-all-{users}-{changes}.csv");
        var baseSnap = Path.Combine(directory, "delta-base.snap");
        var deltaSnap = Path.Combine(directory, "delta-new.snap");
        var fullSnap = Path.Combine(directory, "delta-full.snap");
        var plainSnap = Path.Combine(directory, "delta-plain.snap");
        if (!File.Exists(baseCsv))
        {
            SnapshotScale.WriteExportCsv([users.ToString(CultureInfo.InvariantCulture), baseCsv]);
        }

        if (!File.Exists(changesCsv) || !File.Exists(allCsv))
        {
            WriteChanges(changesCsv, users, changes);
            using var all = new FileStream(allCsv, FileMode.Create, FileAccess.Write);
            using (var input = File.OpenRead(baseCsv))
            {
                input.CopyTo(all);
            }

            all.Write(File.ReadAllBytes(changesCsv).AsSpan()[(File.ReadLines(changesCsv).First().Length + 1)..]);
        }

        Console.WriteLine($"base {users:N0} users ({new FileInfo(baseCsv).Length / 1e6:F0} MB CSV), changes {changes:N0} rows ({new FileInfo(changesCsv).Length / 1e6:F1} MB), {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        var baseBuild = Time(["snapshot", "build", "--consent", baseCsv, "--mergeable", "--out", baseSnap]);
        Console.WriteLine($"base build (--mergeable, once): {baseBuild}");

        var delta = new List<Measure>();
        var full = new List<Measure>();
        var plain = new List<Measure>();
        for (var r = 0; r < runs; r++)
        {
            delta.Add(Time(["snapshot", "build", "--base", baseSnap, "--changes", changesCsv, "--out", deltaSnap]));
            full.Add(Time(["snapshot", "build", "--consent", allCsv, "--mergeable", "--out", fullSnap]));
            plain.Add(Time(["snapshot", "build", "--consent", allCsv, "--out", plainSnap]));
            Console.WriteLine($"run {r + 1}: delta {delta[^1]}; full --mergeable {full[^1]}; full plain {plain[^1]} (load average {LoadAverage()})");
        }

        var d = Measure.Median(delta);
        var f = Measure.Median(full);
        var p = Measure.Median(plain);
        Console.WriteLine($"median of {runs}: delta {d}; full rebuild --mergeable {f}; full rebuild plain {p}");
        Console.WriteLine($"full rebuild (--mergeable) / delta: wall {f.Wall / d.Wall:F1}x, CPU {f.Cpu / d.Cpu:F1}x");
        Console.WriteLine($"sizes: base {new FileInfo(baseSnap).Length / 1048576.0:F0} MiB, delta result {new FileInfo(deltaSnap).Length / 1048576.0:F0} MiB, plain {new FileInfo(plainSnap).Length / 1048576.0:F0} MiB");
        return Verify(deltaSnap, fullSnap, changesCsv, users) ? 0 : 1;
    }

    /// <summary>Same users, rows and conflicts, and the same consent for every changed user and for 200,000 others.</summary>
    private static bool Verify(string deltaPath, string fullPath, string changesCsv, long users)
    {
        using var a = CompiledSnapshot.Open(deltaPath);
        using var b = CompiledSnapshot.Open(fullPath);
        var ok = a.Info.Users == b.Info.Users && a.Info.Rows == b.Info.Rows && a.Info.Conflicts == b.Info.Conflicts && a.Info.AsOf == b.Info.AsOf;
        var random = new Random(3);
        var ids = File.ReadLines(changesCsv).Skip(1).Select(l => l[..l.IndexOf(',', StringComparison.Ordinal)])
            .Concat(Enumerable.Range(0, 200_000).Select(_ => Id(random.NextInt64(users + 10))));
        long compared = 0, differ = 0;
        foreach (var id in ids)
        {
            var bytes = Encoding.UTF8.GetBytes(id);
            var inA = a.TryGetUser(bytes, out var x);
            var inB = b.TryGetUser(bytes, out var y);
            compared++;
            if (inA != inB || (inA && (x.States != y.States || x.Gpc != y.Gpc || x.Minor != y.Minor || !x.HomeRegions.SequenceEqual(y.HomeRegions))))
            {
                differ++;
            }
        }

        ok &= differ == 0;
        Console.WriteLine($"check: users {a.Info.Users:N0}/{b.Info.Users:N0}, rows {a.Info.Rows:N0}/{b.Info.Rows:N0}, conflicts {a.Info.Conflicts:N0}/{b.Info.Conflicts:N0}, "
            + $"{compared:N0} users compared, {differ} differ: {(ok ? "SAME" : "MISMATCH")}");
        return ok;
    }

    private static string Id(long u) => string.Create(CultureInfo.InvariantCulture, $"member-{u:D12}");

    private static void WriteChanges(string path, long users, int changes)
    {
        string[] regions = ["DE", "FR", "US", "US-CA", "GB", "BR", "CN", "JP", "IN", "US-TX", "CA", "NL"];
        string[] consent = ["granted", "unset", "denied", "opt_out", "granted"];
        var random = new Random(11);
        var day = new DateTime(2026, 1, 2, 0, 0, 0, DateTimeKind.Utc);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        writer.Write("user_id,region,ai_training,gpc,minor,updated_at\n");
        for (var i = 0; i < changes; i++)
        {
            var kind = random.Next(20);
            var id = kind == 0 ? Id(users + i) : Id(random.NextInt64(users));
            var updated = kind == 1 ? string.Empty : day.AddSeconds(random.Next(86_400)).ToString("yyyy-MM-ddTHH:mm:ss'Z'", CultureInfo.InvariantCulture);
            writer.Write(string.Create(CultureInfo.InvariantCulture,
                $"{id},{regions[random.Next(regions.Length)]},{consent[random.Next(consent.Length)]},{(random.Next(10) == 0 ? "true" : "false")},false,{updated}\n"));
        }
    }

    private static Measure Time(string[] arguments)
    {
        var start = new ProcessStartInfo("/usr/bin/time") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in (string[])["-f", "TIME %e %U %S %M", "dotnet", Path.Combine(AppContext.BaseDirectory, "ConsentFilter.Cli.dll"), .. arguments])
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start /usr/bin/time");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        var line = stderr.Split('\n').LastOrDefault(l => l.StartsWith("TIME ", StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"consentfilter {string.Join(' ', arguments)} failed: {stdout.Result}{stderr}");
        }

        var f = line.Split(' ');
        double D(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
        return new Measure(D(1), D(2) + D(3), long.Parse(f[4], CultureInfo.InvariantCulture) * 1024);
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private sealed record Measure(double Wall, double Cpu, long PeakRss)
    {
        internal static Measure Median(List<Measure> runs) => new(
            runs.Select(m => m.Wall).Order().ElementAt(runs.Count / 2),
            runs.Select(m => m.Cpu).Order().ElementAt(runs.Count / 2),
            runs.Select(m => m.PeakRss).Order().ElementAt(runs.Count / 2));

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"wall {Wall:F1} s, CPU {Cpu:F1} s, peak RSS {PeakRss / 1048576.0:F0} MiB");
    }
}
