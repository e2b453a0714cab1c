using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// End-to-end benchmark: generates a corpus, then times, side by side on the same files, a line-copy baseline, the
/// real <c>consentfilter filter</c> process and a DuckDB peer doing the same rules; prints records/s, MB/s, peak RSS
/// and the ratios.
/// </summary>
internal static class EndToEnd
{
    internal static int Generate(string[] args)
    {
        var settings = Settings.Parse(args);
        var corpus = CorpusGenerator.Generate(settings.Directory, settings.Records, settings.Users, settings.Seed);
        Console.WriteLine($"{corpus.Records} ({corpus.Bytes / 1e6:F0} MB), {corpus.Consent}, {corpus.Jurisdictions}");
        return 0;
    }

    internal static async Task<int> RunAsync(string[] args)
    {
        var settings = Settings.Parse(args);
        var corpus = CorpusGenerator.Generate(settings.Directory, settings.Records, settings.Users, settings.Seed);
        var output = Path.Combine(settings.Directory, "out");
        Directory.CreateDirectory(output);
        Console.WriteLine($"corpus: {corpus.RecordCount:N0} records, {corpus.Bytes / 1e6:F0} MB, {settings.Users:N0} users, seed {settings.Seed}; " +
                          $"{Environment.ProcessorCount} cores; .NET {Environment.Version}; runs {settings.Runs} (median)");

        var copy = Median(settings.Runs, () => Measure(() => LineCopy(corpus.Records, Path.Combine(output, "copy.jsonl"))));
        var clis = new[] { CliUnderTest.Managed, CliUnderTest.Native(args) }.OfType<CliUnderTest>().ToList();
        var runs = clis.Select(cli => (
            Cli: cli,
            Filter: Median(settings.Runs, () => MeasureProcess(cli, FilterArguments(corpus, output, settings))),
            Bare: Median(settings.Runs, () => MeasureProcess(cli, [.. FilterArguments(corpus, output, settings), "--no-manifest"])))).ToList();
        Result? duck = settings.SkipDuckDb ? null : Median(settings.Runs, () => Measure(() => DuckDbPeer(corpus, Path.Combine(output, "duck.json"))));

        Print("line copy (C#, split + write all)", copy, corpus);
        foreach (var (cli, filter, bare) in runs)
        {
            Print($"consentfilter filter, {cli.Name}", filter, corpus);
            Print($"consentfilter filter --no-manifest, {cli.Name}", bare, corpus);
        }

        if (duck is not null)
        {
            Print("DuckDB (read_json, joins, COPY TO json)", duck, corpus);
        }

        Console.WriteLine();
        foreach (var (cli, filter, bare) in runs)
        {
            Console.WriteLine($"{cli.Name}: {copy.Seconds / filter.Seconds * 100:F0} % of line-copy throughput, {copy.Seconds / bare.Seconds * 100:F0} % without manifest (target >= 50 %)");
            if (duck is not null)
            {
                Console.WriteLine($"{cli.Name}: {duck.Seconds / filter.Seconds:F1}x DuckDB's records/s, {duck.Seconds / bare.Seconds:F1}x without manifest (target >= 5x)");
            }
        }

        await Task.CompletedTask.ConfigureAwait(false);
        return 0;
    }

    private static string[] FilterArguments(CorpusGenerator.Corpus corpus, string output, Settings settings) =>
    [
        "filter", "--records", corpus.Records, "--consent", settings.Snapshot ?? corpus.Consent, "--jurisdictions", corpus.Jurisdictions,
        "--subject-field", "recipients", "--out", Path.Combine(output, "kept.jsonl"), "--report", Path.Combine(output, "report.json"),
    ];

    private sealed record Result(double Seconds, long PeakRssBytes);

    private static Result Median(int runs, Func<Result> run)
    {
        var results = Enumerable.Range(0, runs).Select(_ => run()).OrderBy(r => r.Seconds).ToList();
        return results[results.Count / 2];
    }

    private static Result Measure(Action action)
    {
        GC.Collect();
        var clock = Stopwatch.StartNew();
        action();
        return new Result(clock.Elapsed.TotalSeconds, 0);
    }

    /// <summary>Runs the CLI as its own process and samples its peak RSS (VmHWM) from /proc.</summary>
    private static Result MeasureProcess(CliUnderTest cli, string[] arguments)
    {
        var start = cli.StartInfo(arguments);

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
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"consentfilter exited {process.ExitCode}: {stderr.Result}{stdout.Result}");
        }

        return new Result(elapsed, peak);
    }

    private static long ReadPeakRss(int pid)
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

    /// <summary>DuckDB doing the same rules (authors and co-subjects, regions, GPC, minors) with joins; not byte-preserving.</summary>
    private static void DuckDbPeer(CorpusGenerator.Corpus corpus, string output)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        void Execute(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }

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
            CREATE TABLE r AS SELECT row_number() OVER () AS rn, *
            FROM read_json('{{corpus.Records}}', format = 'newline_delimited',
                columns = {id: 'VARCHAR', user_id: 'VARCHAR', region: 'VARCHAR', created_at: 'VARCHAR', meta: 'JSON', text: 'VARCHAR', recipients: 'VARCHAR[]'});
            CREATE TABLE rr AS SELECT r.rn,
                CASE WHEN r.region IS NULL THEN NULL ELSE coalesce(je.rank, jc.rank, (SELECT rank FROM star)) END AS record_rank
            FROM r LEFT JOIN j je ON je.code = upper(trim(r.region)) LEFT JOIN j jc ON jc.code = split_part(upper(trim(r.region)), '-', 1);
            CREATE TABLE subjects AS
                SELECT rn, user_id FROM r
                UNION ALL SELECT rn, unnest(recipients) AS user_id FROM r WHERE recipients IS NOT NULL;
            CREATE TABLE denied AS SELECT DISTINCT rn FROM (
                SELECT s.rn, u.user_id IS NULL AS unknown, u.minor, u.consent, u.gpc,
                    CASE WHEN u.home_rank IS NULL AND rr.record_rank IS NULL THEN (SELECT rank FROM star)
                         ELSE greatest(coalesce(u.home_rank, -1), coalesce(rr.record_rank, -1)) END AS eff
                FROM subjects s JOIN rr ON rr.rn = s.rn LEFT JOIN u ON u.user_id = s.user_id)
            WHERE unknown OR minor OR eff = 2 OR consent = 'denied'
               OR (eff = 1 AND consent <> 'granted') OR (eff = 0 AND consent = 'unset' AND gpc);
            """);
        Execute($"COPY (SELECT id, user_id, region, created_at, meta, text, recipients FROM r ANTI JOIN denied d ON d.rn = r.rn ORDER BY r.rn) TO '{output}' (FORMAT JSON);");
    }

    private static void Print(string name, Result result, CorpusGenerator.Corpus corpus)
    {
        var rss = result.PeakRssBytes > 0 ? $"{result.PeakRssBytes / 1048576.0,7:F0} MiB" : "      -    ";
        Console.WriteLine($"{name,-48} {result.Seconds,7:F2} s {corpus.RecordCount / result.Seconds,12:N0} rec/s {corpus.Bytes / 1e6 / result.Seconds,8:F0} MB/s  peak RSS {rss}");
    }

    private sealed record Settings(int Records, int Users, int Seed, string Directory, int Runs, bool SkipDuckDb, string? Snapshot)
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
                Get("--snapshot"));
        }
    }
}
