using System.Diagnostics;
using System.Globalization;
using System.Text;
using ConsentFilter.Consent;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// Builds and opens a large compiled snapshot (default 10M users) and reports build time, file size, resident bytes
/// per user after touching every page, open time with and without checksum verification, and lookup cost.
/// </summary>
internal static class SnapshotScale
{
    internal static int Run(string[] args)
    {
        var users = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10_000_000;
        var directory = Path.Combine(Path.GetTempPath(), "consentfilter-bench");
        Directory.CreateDirectory(directory);
        var csv = Path.Combine(directory, $"consent-scale-{users}.csv");
        var snap = Path.Combine(directory, $"consent-scale-{users}.snap");
        if (!File.Exists(csv))
        {
            WriteCsv(csv, users);
        }

        var clock = Stopwatch.StartNew();
        var source = ConsentSnapshot.LoadCsv(csv, ["ai_training"]);
        var load = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var summary = CompiledSnapshotBuilder.Build(source, snap);
        var build = clock.Elapsed.TotalSeconds;
        source = null;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();

        clock.Restart();
        using (CompiledSnapshot.Open(snap, verifyChecksum: false))
        {
        }

        var openFast = clock.Elapsed.TotalMilliseconds;
        var rssBefore = Rss();
        clock.Restart();
        using var snapshot = CompiledSnapshot.Open(snap);
        var openVerified = clock.Elapsed.TotalMilliseconds;

        // Verification reads every page of the mapping once, so the RSS growth is what the snapshot keeps resident.
        var resident = Rss() - rssBefore;

        // Touch every entry through lookups of every user, then measure hits and misses separately.
        var ids = new byte[users][];
        for (var u = 0; u < users; u++)
        {
            ids[u] = Encoding.UTF8.GetBytes("u" + u.ToString(CultureInfo.InvariantCulture));
        }

        var found = 0;
        clock.Restart();
        foreach (var id in ids)
        {
            found += snapshot.TryGetUser(id, out _) ? 1 : 0;
        }

        var hitNs = clock.Elapsed.TotalNanoseconds / users;
        var random = new Random(1);
        var misses = 0;
        const int MissProbes = 2_000_000;
        var absent = Enumerable.Range(0, MissProbes).Select(i => Encoding.UTF8.GetBytes("x" + random.Next().ToString(CultureInfo.InvariantCulture))).ToArray();
        clock.Restart();
        foreach (var id in absent)
        {
            misses += snapshot.TryGetUser(id, out _) ? 0 : 1;
        }

        var missNs = clock.Elapsed.TotalNanoseconds / MissProbes;
        Console.WriteLine($"users {users:N0}: CSV load {load:F1} s, build {build:F1} s, file {summary.Bytes / 1048576.0:F1} MiB ({(double)summary.Bytes / users:F2} bytes/user), collisions {summary.Collisions}");
        Console.WriteLine($"open: {openFast:F2} ms without checksum, {openVerified:F0} ms with checksum verification");
        Console.WriteLine($"resident (RSS growth after the verified open touched every page): {resident / 1048576.0:F1} MiB ({(double)resident / users:F2} bytes/user)");
        Console.WriteLine($"lookup: {hitNs:F0} ns per hit ({found:N0} found), {missNs:F0} ns per miss ({misses:N0} absent)");
        return found == users && misses == MissProbes ? 0 : 1;
    }

    private static long Rss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    private static void WriteCsv(string path, int users)
    {
        string[] regions = ["DE", "FR", "US", "US-CA", "GB", "BR", "CN", "JP", "IN"];
        string[] consent = ["granted", "unset", "denied"];
        var random = new Random(7);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        writer.Write("user_id,region,ai_training,gpc,minor,updated_at\n");
        for (var u = 0; u < users; u++)
        {
            writer.Write(string.Create(CultureInfo.InvariantCulture,
                $"u{u},{regions[random.Next(regions.Length)]},{consent[random.Next(3)]},{(random.Next(10) == 0 ? "true" : "false")},false,2026-11-01T00:00:00Z\n"));
        }
    }

    /// <summary>
    /// <c>consent-csv USERS PATH</c>: a consent export shaped like a consent-management database's (about 69 bytes a row):
    /// one dated row per user, and for one user in ten a second row, older or undated, so the build merges rows.
    /// </summary>
    internal static int WriteExportCsv(string[] args)
    {
        var users = long.Parse(args[0], CultureInfo.InvariantCulture);
        string[] regions = ["DE", "FR", "US", "US-CA", "GB", "BR", "CN", "JP", "IN", "US-TX", "CA", "NL"];
        string[] consent = ["granted", "unset", "denied", "opt_out", "granted"];
        var random = new Random(7);
        var start = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        using var writer = new StreamWriter(args[1], false, new UTF8Encoding(false), 1 << 20);
        writer.Write("user_id,region,ai_training,gpc,minor,updated_at\n");
        for (long u = 0; u < users; u++)
        {
            var region = regions[random.Next(regions.Length)];
            var updated = start.AddSeconds(random.Next(0, 60 * 60 * 24 * 700));
            writer.Write(string.Create(CultureInfo.InvariantCulture,
                $"member-{u:D12},{region},{consent[random.Next(consent.Length)]},{(random.Next(10) == 0 ? "true" : "false")},{(random.Next(50) == 0 ? "true" : "false")},{updated:yyyy-MM-ddTHH:mm:ss}Z\n"));
            if (random.Next(10) == 0)
            {
                var older = random.Next(2) == 0 ? string.Empty : updated.AddDays(-random.Next(1, 300)).ToString("yyyy-MM-ddTHH:mm:ss'Z'", CultureInfo.InvariantCulture);
                writer.Write(string.Create(CultureInfo.InvariantCulture,
                    $"member-{u:D12},{region},{consent[random.Next(consent.Length)]},false,false,{older}\n"));
            }
        }

        return 0;
    }
}
