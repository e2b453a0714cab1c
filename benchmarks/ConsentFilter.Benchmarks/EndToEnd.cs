using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// End-to-end benchmark: generates a corpus (the same records as JSON Lines and as CSV), then times, side by side on
/// the same files and for each format of <c>--formats</c>, a line-copy baseline, the real <c>consentfilter filter</c>
/// process and a DuckDB peer doing the same rules; prints wall and CPU time, records/s, MB/s, peak RSS, kept counts
/// (a loud mismatch when they differ) and the ratios.
/// </summary>
internal static class EndToEnd
{
    internal static int Generate(string[] args)
    {
        var settings = Settings.Parse(args);
        var corpus = CorpusGenerator.Generate(settings.Directory, settings.Records, settings.Users, settings.Seed, settings.Corpus);
        Console.WriteLine($"{corpus.Records} ({corpus.Bytes / 1e6:F0} MB), {corpus.RecordsCsv} ({corpus.CsvBytes / 1e6:F0} MB), {corpus.Consent}, {corpus.Jurisdictions}");
        Console.WriteLine(LineStats(corpus.Records));
        return 0;
    }

    internal static async Task<int> RunAsync(string[] args)
    {
        var settings = Settings.Parse(args);
        var corpus = CorpusGenerator.Generate(settings.Directory, settings.Records, settings.Users, settings.Seed, settings.Corpus);
        var output = Path.Combine(settings.Directory, "out");
        Directory.CreateDirectory(output);
        Console.WriteLine($"corpus: {settings.Corpus.ToString().ToLowerInvariant()}, {corpus.RecordCount:N0} records, JSON Lines {corpus.Bytes / 1e6:F0} MB, " +
                          $"CSV {corpus.CsvBytes / 1e6:F0} MB, {settings.Users:N0} users, seed {settings.Seed}; " +
                          $"{Environment.ProcessorCount} cores; .NET {Environment.Version}; runs {settings.Runs} (medians of wall and of CPU)");
        Console.WriteLine($"JSON Lines {LineStats(corpus.Records)}");
        Console.WriteLine($"load average at start: {LoadAverage()}");

        var columnar = settings.Formats.Any(f => f is "parquet" or "arrow") ? ColumnarCorpus.Ensure(corpus) : (Parquet: "", Arrow: "");
        if (columnar.Parquet.Length > 0)
        {
            Console.WriteLine($"Parquet {ColumnarCorpus.Describe(columnar.Parquet)} (written by DuckDB from the JSON Lines); Arrow IPC file {new FileInfo(columnar.Arrow).Length / 1e6:F0} MB");
        }

        var clis = new[] { CliUnderTest.Managed, CliUnderTest.Native(args) }.OfType<CliUnderTest>().ToList();
        var rows = new List<Row>();
        foreach (var format in settings.Formats)
        {
            var input = format switch
            {
                "csv" => corpus.RecordsCsv,
                "parquet" => columnar.Parquet,
                "arrow" => columnar.Arrow,
                _ => corpus.Records,
            };
            var bytes = new FileInfo(input).Length;
            var jobs = new List<Job>
            {
                format is "parquet" or "arrow"
                    ? new Job("file copy (C#, read + write all bytes)", null, false, () => Measure(() => FileCopy(input, Path.Combine(output, $"copy.{format}"))))
                    : new Job("line copy (C#, split + write all)", null, false, () => Measure(() => LineCopy(input, Path.Combine(output, $"copy.{format}")))),
            };
            foreach (var cli in clis)
            {
                jobs.Add(new Job($"consentfilter filter, {cli.Name}", cli.Name, false, () => MeasureProcess(cli, FilterArguments(input, format, corpus, output, settings))));
                jobs.Add(new Job($"consentfilter filter --no-manifest, {cli.Name}", cli.Name, true,
                    () => MeasureProcess(cli, [.. FilterArguments(input, format, corpus, output, settings), "--no-manifest"])));
            }

            if (!settings.SkipDuckDb)
            {
                var label = format switch
                {
                    "csv" => "DuckDB (read_csv, joins, COPY TO csv)",
                    "parquet" => "DuckDB (read_parquet, joins, COPY TO parquet)",
                    "arrow" => "DuckDB (read_parquet, joins, COPY TO parquet) *",
                    _ => "DuckDB (read_json, joins, COPY TO json)",
                };
                var duckInput = format == "arrow" ? columnar.Parquet : input;
                jobs.Add(new Job(label, "duckdb", false, () => Measure(() => (long?)DuckDbPeer(corpus, format, duckInput, Path.Combine(output, $"duck.{format}")))));
            }

            rows.AddRange(RunInterleaved(format, jobs, settings.Runs, bytes, output));
        }

        Console.WriteLine();
        Console.WriteLine($"{"format",-6} {"run",-50} {"wall",8} {"CPU u+s",8} {"rec/s",11} {"MB/s",6} {"peak RSS",9} {"kept",10}");
        foreach (var row in rows)
        {
            var result = row.Result;
            var rss = result.PeakRssBytes > 0 ? $"{result.PeakRssBytes / 1048576.0:F0} MiB" : "-";
            var kept = result.Kept is { } k ? k.ToString("N0", CultureInfo.InvariantCulture) : "-";
            Console.WriteLine($"{row.Format,-6} {row.Name,-50} {result.Seconds,6:F2} s {result.CpuSeconds,6:F2} s {corpus.RecordCount / result.Seconds,11:N0} " +
                              $"{row.Bytes / 1e6 / result.Seconds,6:F0} {rss,9} {kept,10}");
        }

        Console.WriteLine();
        foreach (var row in rows.Where(r => r.Tool is not null && r.Tool != "duckdb"))
        {
            var copy = rows.First(r => r.Format == row.Format && r.Tool is null).Result;
            var duck = rows.FirstOrDefault(r => r.Format == row.Format && r.Tool == "duckdb")?.Result;
            var vsDuck = duck is null ? "" : $", {duck.Seconds / row.Result.Seconds:F1}x DuckDB's records/s ({duck.CpuSeconds / row.Result.CpuSeconds:F1}x in CPU)";
            Console.WriteLine($"{row.Format} {row.Name}: {copy.Seconds / row.Result.Seconds * 100:F0} % of the copy's throughput " +
                              $"(per round: median {row.Result.OfCopy * 100:F0} %, range {row.Result.OfCopyMin * 100:F0}-{row.Result.OfCopyMax * 100:F0} %){vsDuck}");
        }

        foreach (var row in rows.Where(r => r.Tool is not null && r.Tool != "duckdb" && !r.NoManifest))
        {
            var without = rows.FirstOrDefault(r => r.Format == row.Format && r.Tool == row.Tool && r.NoManifest)?.Result;
            if (without is not null)
            {
                Console.WriteLine($"{row.Format} manifest's cost, {row.Tool}: +{(row.Result.Seconds / without.Seconds - 1) * 100:F0} % wall " +
                                  $"({row.Result.Seconds:F3} vs {without.Seconds:F3} s), +{(row.Result.CpuSeconds / without.CpuSeconds - 1) * 100:F0} % CPU (target <= 15 %)");
            }
        }

        if (settings.Formats.Contains("jsonl") && settings.Formats.Contains("csv"))
        {
            foreach (var row in rows.Where(r => r.Format == "csv" && r.Tool is not null))
            {
                var jsonl = rows.First(r => r.Format == "jsonl" && r.Name == row.Name.Replace("csv", "json", StringComparison.Ordinal)).Result;
                Console.WriteLine($"CSV vs JSON Lines, {row.Name}: {row.Result.Seconds / jsonl.Seconds:F2}x the wall time, {row.Result.CpuSeconds / jsonl.CpuSeconds:F2}x the CPU time{(row.Tool == "duckdb" ? "" : " (target <= 2x)")}");
            }
        }

        var counts = rows.Where(r => r.Result.Kept is not null).Select(r => (r.Format, r.Name, Kept: r.Result.Kept!.Value)).ToList();
        if (counts.Select(c => c.Kept).Distinct().Count() > 1)
        {
            Console.WriteLine();
            Console.WriteLine("!!!!!!!! MISMATCH: the runs kept different numbers of records !!!!!!!!");
            foreach (var (format, name, kept) in counts)
            {
                Console.WriteLine($"!!!!!!!!   {format,-6} {name,-50} kept {kept:N0}");
            }
        }
        else if (counts.Count > 0)
        {
            Console.WriteLine($"kept counts equal across {counts.Count} runs: {counts[0].Kept:N0} of {corpus.RecordCount:N0}");
        }

        if (settings.Formats.Contains("arrow") && !settings.SkipDuckDb)
        {
            Console.WriteLine("* DuckDB has no Arrow IPC file reader in its core: its Arrow row is the Parquet job on the same rows.");
        }

        Console.WriteLine($"load average at end: {LoadAverage()}");
        await Task.CompletedTask.ConfigureAwait(false);
        return 0;
    }

    private sealed record Row(string Format, string Name, string? Tool, bool NoManifest, Result Result, long Bytes);

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>Line length distribution and the share of non-ASCII bytes of a JSON Lines file.</summary>
    private static string LineStats(string path)
    {
        var lengths = new List<int>();
        long nonAscii = 0, total = 0;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
        {
            var buffer = new byte[1 << 20];
            var current = 0;
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                total += n;
                foreach (var b in buffer.AsSpan(0, n))
                {
                    current++;
                    if (b >= 0x80)
                    {
                        nonAscii++;
                    }
                    else if (b == (byte)'\n')
                    {
                        lengths.Add(current);
                        current = 0;
                    }
                }
            }
        }

        lengths.Sort();
        int At(double q) => lengths.Count == 0 ? 0 : lengths[(int)Math.Min(lengths.Count - 1, q * lengths.Count)];
        return $"line bytes: min {At(0)}, p10 {At(0.1)}, median {At(0.5)}, p90 {At(0.9)}, p99 {At(0.99)}, max {At(1)}; " +
               $"non-ASCII bytes {(total == 0 ? 0 : nonAscii * 100.0 / total):F0} %";
    }

    private static string[] FilterArguments(string input, string format, CorpusGenerator.Corpus corpus, string output, Settings settings) =>
    [
        "filter", "--records", input, "--consent", settings.Snapshot ?? corpus.Consent, "--jurisdictions", corpus.Jurisdictions,
        "--subject-field", "recipients", "--out", Path.Combine(output, $"kept.{format}"), "--report", Path.Combine(output, "report.json"),
    ];

    private sealed record Result(double Seconds, double CpuSeconds, long PeakRssBytes, long? Kept)
    {
        /// <summary>Median over rounds of the copy's wall time over this run's, in the same round (1 for the copy itself).</summary>
        public double OfCopy { get; init; } = 1;

        public double OfCopyMin { get; init; } = 1;

        public double OfCopyMax { get; init; } = 1;
    }

    /// <summary>One timed thing of a format's series: the copy (no tool), a CLI run, or DuckDB.</summary>
    private sealed record Job(string Name, string? Tool, bool NoManifest, Func<Result> Run);

    /// <summary>
    /// Runs every job once per round, round after round, so that whatever the machine does meanwhile (another tenant,
    /// the kernel writing back the previous run's output) falls on all of them alike rather than on whichever series
    /// ran at the time; each run starts after a <c>sync</c>, so none pays for the dirty pages of the one before. The
    /// first job is the copy: each run's share of the copy's throughput is also taken within its round. The outputs of
    /// the run before are deleted first too, so no run pays for freeing the last one's file when it replaces it.
    /// </summary>
    private static IEnumerable<Row> RunInterleaved(string format, IReadOnlyList<Job> jobs, int runs, long bytes, string output)
    {
        var results = jobs.Select(_ => new List<Result>()).ToArray();
        for (var round = 0; round < runs; round++)
        {
            for (var j = 0; j < jobs.Count; j++)
            {
                Settle(output);
                results[j].Add(jobs[j].Run());
            }
        }

        for (var j = 0; j < jobs.Count; j++)
        {
            var shares = results[j].Select((r, round) => results[0][round].Seconds / r.Seconds).Order().ToList();
            yield return new Row(format, jobs[j].Name, jobs[j].Tool, jobs[j].NoManifest,
                Median(results[j]) with { OfCopy = shares[shares.Count / 2], OfCopyMin = shares[0], OfCopyMax = shares[^1] }, bytes);
        }
    }

    /// <summary>
    /// Deletes the files in the output directory and flushes every dirty page to disk (<c>sync</c>), so the next run
    /// neither frees the last one's output nor shares the disk with its writeback.
    /// </summary>
    private static void Settle(string output)
    {
        foreach (var file in Directory.EnumerateFiles(output))
        {
            File.Delete(file);
        }

        if (!OperatingSystem.IsWindows())
        {
            // coreutils' sync; a platform without it runs unsettled rather than not at all.
            try
            {
                using var sync = Process.Start(new ProcessStartInfo("sync") { UseShellExecute = false });
                sync?.WaitForExit();
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }
    }

    /// <summary>Median wall time and median CPU time (each on its own), the highest peak RSS, the last kept count.</summary>
    private static Result Median(IReadOnlyList<Result> results)
    {
        var wall = results.Select(r => r.Seconds).Order().ToList();
        var cpu = results.Select(r => r.CpuSeconds).Order().ToList();
        return new Result(wall[wall.Count / 2], cpu[cpu.Count / 2], results.Max(r => r.PeakRssBytes), results[^1].Kept);
    }

    /// <summary>Times an in-process run; its peak RSS is this process's high-water mark, reset before the run (Linux).</summary>
    private static Result Measure(Func<long?> action)
    {
        GC.Collect();
        var peakKnown = ResetPeakRss();
        var cpu = CpuTime.Self();
        var clock = Stopwatch.StartNew();
        var kept = action();
        var elapsed = clock.Elapsed.TotalSeconds;
        return new Result(elapsed, CpuTime.Self() - cpu, peakKnown ? ReadPeakRss(Environment.ProcessId) : 0, kept);
    }

    /// <summary>Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0 and later).</summary>
    private static bool ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static Result Measure(Action action) => Measure(() =>
    {
        action();
        return (long?)null;
    });

    /// <summary>Runs the CLI as its own process and samples its peak RSS (VmHWM) from /proc.</summary>
    private static Result MeasureProcess(CliUnderTest cli, string[] arguments)
    {
        var start = cli.StartInfo(arguments);
        var cpu = CpuTime.Children();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        long peak = 0;
        while (!process.WaitForExit(20))
        {
            peak = Math.Max(peak, ReadPeakRss(process.Id));
        }

        var elapsed = clock.Elapsed.TotalSeconds;
        var cpuSeconds = CpuTime.Children() - cpu;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"consentfilter exited {process.ExitCode}: {stderr.Result}{stdout.Result}");
        }

        var report = arguments[Array.IndexOf(arguments, "--report") + 1];
        using var document = JsonDocument.Parse(File.ReadAllBytes(report));
        var root = document.RootElement;
        var quarantined = root.GetProperty("quarantined").GetProperty("total").GetInt64();
        if (quarantined != 0)
        {
            Console.WriteLine($"!!!!!!!! {quarantined:N0} records quarantined: {root.GetProperty("quarantined")}");
        }

        return new Result(elapsed, cpuSeconds, peak, root.GetProperty("kept").GetInt64());
    }

    /// <summary>A process's peak resident set (<c>VmHWM</c>) in bytes, from <c>/proc/&lt;pid&gt;/status</c>; 0 where there is none.</summary>
    internal static long ReadPeakRss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    /// <summary>The floor for a binary file: read in 1 MiB blocks, write every byte.</summary>
    private static void FileCopy(string input, string output)
    {
        using var reader = new FileStream(input, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        using var writer = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        reader.CopyTo(writer, 1 << 20);
    }

    /// <summary>The floor: read in blocks, split lines, write every line.</summary>
    private static void LineCopy(string input, string output)
    {
        using var reader = new FileStream(input, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        using var writer = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        var buffer = new byte[1 << 20];
        var filled = 0;
        long lines = 0;
        while (true)
        {
            var n = reader.Read(buffer, filled, buffer.Length - filled);
            if (n == 0)
            {
                writer.Write(buffer, 0, filled);
                break;
            }

            filled += n;
            var span = buffer.AsSpan(0, filled);
            var position = 0;
            int lf;
            while ((lf = span[position..].IndexOf((byte)'\n')) >= 0)
            {
                position += lf + 1;
                lines++;
            }

            writer.Write(buffer, 0, position);
            span[position..].CopyTo(buffer);
            filled -= position;
        }

        GC.KeepAlive(lines);
    }

    /// <summary>
    /// DuckDB doing the same rules (authors and co-subjects, regions, GPC, minors) with joins; not byte-preserving.
    /// Ids compare as the SPEC says: a JSON integer is its decimal text (read into VARCHAR), co-subjects are an array
    /// or one scalar in JSON, and <c>a;b</c> or a JSON array cell in CSV. Returns the number of kept rows.
    /// </summary>
    private static long DuckDbPeer(CorpusGenerator.Corpus corpus, string format, string input, string output)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        int Execute(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            return command.ExecuteNonQuery();
        }

        // Parquet: the decision columns are read first (with DuckDB's file_row_number), the rows to drop found with
        // joins, then the file is read again and the kept rows written: the text is never held in a table.
        var columnar = format is "parquet" or "arrow";
        var source = columnar
            ? $$"""
              SELECT file_row_number AS rn, user_id, region, coalesce(recipients, []::VARCHAR[]) AS subs
              FROM read_parquet('{{input}}', file_row_number = true)
              """
            : format == "csv"
            ? $$"""
              SELECT id, user_id, region, created_at, meta, reply_to, text, recipients,
                  CASE WHEN recipients IS NULL OR recipients = '' THEN []::VARCHAR[]
                       WHEN starts_with(recipients, '[') THEN from_json(recipients, '["VARCHAR"]')
                       ELSE string_split(recipients, ';') END AS subs
              FROM read_csv('{{input}}', header = true, delim = ',', quote = '"', escape = '"', max_line_size = 33554432,
                  columns = {id: 'VARCHAR', user_id: 'VARCHAR', region: 'VARCHAR', created_at: 'VARCHAR', recipients: 'VARCHAR',
                             text: 'VARCHAR', meta: 'VARCHAR', reply_to: 'VARCHAR'})
              """
            : $$"""
              SELECT id, user_id, region, created_at, meta, reply_to, text, recipients,
                  CASE WHEN recipients IS NULL THEN []::VARCHAR[]
                       WHEN json_type(recipients) = 'ARRAY' THEN from_json(recipients, '["VARCHAR"]')
                       ELSE [recipients ->> '$'] END AS subs
              FROM read_json('{{input}}', format = 'newline_delimited', maximum_object_size = 33554432,
                  columns = {id: 'VARCHAR', user_id: 'VARCHAR', region: 'VARCHAR', created_at: 'VARCHAR', meta: 'JSON', reply_to: 'JSON',
                             text: 'VARCHAR', recipients: 'JSON'})
              """;

        Execute($"SET threads = {Environment.ProcessorCount}; SET preserve_insertion_order = true;");
        Execute($$"""
            CREATE TABLE j AS SELECT upper(trim(code)) AS code,
                CASE lower(trim(regime)) WHEN 'opt-out' THEN 0 WHEN 'opt-in' THEN 1 ELSE 2 END AS rank
            FROM read_csv('{{corpus.Jurisdictions}}', header = true, all_varchar = true);
            CREATE TABLE star AS SELECT coalesce(max(rank), 2) AS rank FROM j WHERE code = '*';
            CREATE TABLE u AS SELECT c.user_id,
                CASE WHEN c.region IS NULL OR trim(c.region) = '' THEN NULL
                     ELSE coalesce(je.rank, jc.rank, (SELECT rank FROM star)) END AS home_rank,
                lower(trim(c.ai_training)) AS consent, lower(trim(c.gpc)) IN ('true', '1', 'yes') AS gpc,
                lower(trim(c.minor)) IN ('true', '1', 'yes') AS minor
            FROM read_csv('{{corpus.Consent}}', header = true, all_varchar = true) c
            LEFT JOIN j je ON je.code = upper(trim(c.region))
            LEFT JOIN j jc ON jc.code = split_part(upper(trim(c.region)), '-', 1);
            CREATE TABLE r AS {{(columnar ? source : $"SELECT row_number() OVER () AS rn, * FROM ({source})")}};
            CREATE TABLE rr AS SELECT r.rn,
                CASE WHEN r.region IS NULL THEN NULL ELSE coalesce(je.rank, jc.rank, (SELECT rank FROM star)) END AS record_rank
            FROM r LEFT JOIN j je ON je.code = upper(trim(r.region)) LEFT JOIN j jc ON jc.code = split_part(upper(trim(r.region)), '-', 1);
            CREATE TABLE subjects AS
                SELECT rn, user_id FROM r
                UNION ALL SELECT rn, unnest(subs) AS user_id FROM r WHERE len(subs) > 0;
            CREATE TABLE denied AS SELECT DISTINCT rn FROM (
                SELECT s.rn, u.user_id IS NULL AS unknown, u.minor, u.consent, u.gpc,
                    CASE WHEN u.home_rank IS NULL AND rr.record_rank IS NULL THEN (SELECT rank FROM star)
                         ELSE greatest(coalesce(u.home_rank, -1), coalesce(rr.record_rank, -1)) END AS eff
                FROM subjects s JOIN rr ON rr.rn = s.rn LEFT JOIN u ON u.user_id = s.user_id)
            WHERE unknown OR minor OR eff = 2 OR consent = 'denied'
               OR (eff = 1 AND consent <> 'granted') OR (eff = 0 AND consent = 'unset' AND gpc);
            """);
        var options = format switch
        {
            "csv" => "FORMAT csv, HEADER true",
            "parquet" or "arrow" => "FORMAT parquet, COMPRESSION snappy",
            _ => "FORMAT json",
        };
        return Execute(columnar
            ? $"COPY (SELECT p.* EXCLUDE (file_row_number) FROM read_parquet('{input}', file_row_number = true) p ANTI JOIN denied d ON d.rn = p.file_row_number ORDER BY p.file_row_number) TO '{output}' ({options});"
            : $"COPY (SELECT id, user_id, region, created_at, recipients, text, meta, reply_to FROM r ANTI JOIN denied d ON d.rn = r.rn ORDER BY r.rn) TO '{output}' ({options});");
    }

    private sealed record Settings(
        int Records, int Users, int Seed, string Directory, int Runs, bool SkipDuckDb, string? Snapshot, CorpusGenerator.Kind Corpus, string[] Formats)
    {
        public static Settings Parse(string[] args)
        {
            string? Get(string name)
            {
                var i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
            }

            int Int(string name, int fallback) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

            return new Settings(
                Int("--records", 1_000_000),
                Int("--users", 200_000),
                Int("--seed", 42),
                Get("--dir") ?? Path.Combine(Path.GetTempPath(), "consentfilter-bench"),
                Int("--runs", 3),
                args.Contains("--no-duckdb"),
                Get("--snapshot"),
                CorpusGenerator.ParseKind(Get("--corpus")),
                ParseFormats(Get("--formats") ?? "jsonl,csv"));
        }

        private static string[] ParseFormats(string text)
        {
            var formats = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(f => f.ToLowerInvariant()).Distinct().ToArray();
            return formats.Length > 0 && formats.All(f => f is "jsonl" or "csv" or "parquet" or "arrow")
                ? formats
                : throw new ArgumentException($"--formats: '{text}' is not a list of jsonl, csv, parquet and arrow");
        }
    }
}
