using System.Globalization;
using System.Text;
using System.Text.Json;
using ConsentFilter.Consent;
using ConsentFilter.Tests.EndToEnd;
using ConsentFilter.Tests.Support;
using Npgsql;
using NpgsqlTypes;

namespace ConsentFilter.Tests.Consent;

/// <summary>Consent from a real PostgreSQL server the tests start: the same decisions as the CSV it was loaded from, and clean failures.</summary>
public sealed class ConsentDatabaseTests : IClassFixture<PostgresServer>, IDisposable
{
    private const string Query = "SELECT user_id, region, ai_training, gpc, minor, updated_at FROM {0}";
    private static readonly string[] s_regions = ["", "DE", "us", "US-CA", "CN", " fr ", "uk"];
    private static readonly string[] s_consent = ["granted", "denied", "", "unset", "YES", "opt_out"];
    private static readonly string[] s_timestamps = ["", "", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-01", "2026-02-01T01:00:00+01:00"];

    private readonly PostgresServer _server;
    private readonly TempDirectory _temp = new();

    public ConsentDatabaseTests(PostgresServer server) => _server = server;

    public void Dispose() => _temp.Dispose();

    [PostgresFact]
    public async Task SnapshotBuild_FromTable_DecidesExactlyAsTheCsvItWasLoadedFrom()
    {
        var csv = RandomConsentCsv(new Random(11), 3000);
        var table = LoadTable("random_consent", csv);
        var fromCsv = _temp.Write("consent.csv", csv);

        var db = await CliProcess.RunInProcessAsync("snapshot", "build", "--consent-db", _server.ConnectionString,
            "--consent-query", string.Format(CultureInfo.InvariantCulture, Query, table), "--out", _temp.File("db.snap"), "--memory", "256MiB");
        var file = await CliProcess.RunInProcessAsync("snapshot", "build", "--consent", fromCsv, "--out", _temp.File("csv.snap"));

        Assert.True(db.ExitCode == 0, db.ToString());
        Assert.True(file.ExitCode == 0, file.ToString());
        Assert.DoesNotContain(PostgresServer.Password, db.StdOut + db.StdErr, StringComparison.Ordinal);
        using var a = CompiledSnapshot.Open(_temp.File("db.snap"));
        using var b = CompiledSnapshot.Open(_temp.File("csv.snap"));
        AssertSameConsent(a, b, ConsentSnapshot.LoadCsv(fromCsv, ["ai_training"]));
        Assert.NotNull(a.Origin);
        Assert.Contains("Host=", a.Origin, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.Password, a.Origin, StringComparison.Ordinal);
        Assert.Equal(a.Origin, a.Info.Source);
    }

    [PostgresFact]
    public async Task SnapshotBuild_BaseWithChangesFromTable_DecidesAsTheFullCsv()
    {
        var baseCsv = RandomConsentCsv(new Random(12), 1500);
        var changes = RandomConsentCsv(new Random(13), 600);
        var table = LoadTable("consent_changes", changes);
        var all = _temp.Write("all.csv", baseCsv + changes[(changes.IndexOf('\n', StringComparison.Ordinal) + 1)..]);
        var full = await CliProcess.RunInProcessAsync("snapshot", "build", "--consent", all, "--out", _temp.File("full.snap"));
        var base_ = await CliProcess.RunInProcessAsync("snapshot", "build", "--consent", _temp.Write("base.csv", baseCsv), "--mergeable", "--out", _temp.File("base.snap"));

        var delta = await CliProcess.RunInProcessAsync("snapshot", "build", "--base", _temp.File("base.snap"), "--consent-db", _server.ConnectionString,
            "--consent-query", string.Format(CultureInfo.InvariantCulture, Query, table), "--out", _temp.File("delta.snap"));

        Assert.True(full.ExitCode == 0 && base_.ExitCode == 0, full.ToString() + base_);
        Assert.True(delta.ExitCode == 0, delta.ToString());
        using var a = CompiledSnapshot.Open(_temp.File("delta.snap"));
        using var b = CompiledSnapshot.Open(_temp.File("full.snap"));
        AssertSameConsent(a, b, ConsentSnapshot.LoadCsv(all, ["ai_training"]));
        Assert.DoesNotContain(PostgresServer.Password, a.Origin, StringComparison.Ordinal);
    }

    [PostgresFact]
    public void Load_InMemory_DecidesAsTheCsvAndNullsAreEmptyCells()
    {
        // NULL purpose → unset, NULL region → none, NULL gpc/minor → false, NULL updated_at → undated (counts with the latest).
        var csv = "user_id,region,ai_training,gpc,minor,updated_at\n"
            + "nul,,,,,\n"
            + "dup,US,granted,false,,2026-01-01T00:00:00Z\n"
            + "dup,US,granted,false,,2026-01-01T00:00:00Z\n"
            + "mix,DE,granted,,,2026-03-01T00:00:00Z\n"
            + "mix,FR,denied,true,yes,\n"
            + "old,GB,denied,true,,2025-01-01T00:00:00Z\n"
            + "old,GB,granted,false,,2026-01-01T00:00:00Z\n";
        var table = LoadTable("nulls", csv);
        using var connection = new NpgsqlConnection(_server.ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(string.Format(CultureInfo.InvariantCulture, Query, table), connection);
        using var reader = command.ExecuteReader(System.Data.CommandBehavior.SequentialAccess);
        var fromDb = ConsentDatabase.Load(reader, "db", ["ai_training"], null);
        var fromCsv = ConsentSnapshot.LoadCsv(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "c.csv", ["ai_training"]);

        AssertSameConsent(fromDb, fromCsv, fromCsv);
        Assert.True(fromDb.TryGetUser("nul"u8, out var nul));
        Assert.Equal(ConsentState.Unset, nul.States[0]);
        Assert.Empty(nul.HomeRegions);
        Assert.False(nul.Gpc);
        Assert.Equal(1, fromDb.Info.Conflicts);
        Assert.Equal(7, fromDb.Info.Rows);
        Assert.Equal(fromCsv.Info.AsOf, fromDb.Info.AsOf);
    }

    [PostgresFact]
    public async Task Filter_WithConsentDb_KeepsWhatTheCsvKeepsAndTheReportHidesThePassword()
    {
        HandMadeCorpus.WriteTo(_temp);
        var table = LoadTable("hand_made", HandMadeCorpus.Consent);
        var common = new[] { "filter", "--records", _temp.File(HandMadeCorpus.RecordsFile), "--jurisdictions", _temp.File(HandMadeCorpus.JurisdictionsFile), "--subject-field", "recipients" };

        var db = await CliProcess.RunInProcessAsync([.. common, "--consent-db", _server.ConnectionString,
            "--consent-query", string.Format(CultureInfo.InvariantCulture, Query, table), "--out", _temp.File("db.jsonl"), "--report", _temp.File("db.json")]);
        var csv = await CliProcess.RunInProcessAsync([.. common, "--consent", _temp.File(HandMadeCorpus.ConsentFile), "--out", _temp.File("csv.jsonl")]);

        Assert.True(db.ExitCode == 0, db.ToString());
        Assert.True(csv.ExitCode == 0, csv.ToString());
        Assert.Equal(HandMadeCorpus.ExpectedKept(), File.ReadAllText(_temp.File("db.jsonl")));
        var report = File.ReadAllText(_temp.File("db.json"));
        Assert.DoesNotContain(PostgresServer.Password, report, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(report);
        var snapshot = json.RootElement.GetProperty("snapshot");
        Assert.Contains("Username=cf", snapshot.GetProperty("source").GetString(), StringComparison.Ordinal);
        Assert.Equal(11, snapshot.GetProperty("users").GetInt64());
        Assert.Equal(1, snapshot.GetProperty("conflicts").GetInt64());
    }

    [PostgresFact]
    public async Task Explain_WithConsentDb_ExplainsAsWithTheCsv()
    {
        HandMadeCorpus.WriteTo(_temp);
        var table = LoadTable("hand_made_explain", HandMadeCorpus.Consent);
        var db = await CliProcess.RunInProcessAsync("explain", "--consent-db", _server.ConnectionString,
            "--consent-query", string.Format(CultureInfo.InvariantCulture, Query, table), "--user", "judy", "--region", "FR");
        var csv = await CliProcess.RunInProcessAsync("explain", "--consent", _temp.File(HandMadeCorpus.ConsentFile), "--user", "judy", "--region", "FR");

        Assert.True(db.ExitCode == 0, db.ToString());
        Assert.Equal(csv.StdOut.Split('\n').Last(l => l.StartsWith("decision:", StringComparison.Ordinal)),
            db.StdOut.Split('\n').Last(l => l.StartsWith("decision:", StringComparison.Ordinal)));
    }

    [PostgresFact]
    public async Task SnapshotBuild_InvalidValue_ExitsTwoNamingTheUsersRow()
    {
        var table = LoadTable("invalid", "user_id,region,ai_training,gpc,minor,updated_at\nu1,US,granted,,,\nu-bad,US,maybe,,,\nu3,US,denied,,,\n");
        var result = await BuildFromDb(string.Format(CultureInfo.InvariantCulture, Query, table));

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("u-bad", line, StringComparison.Ordinal);
        Assert.Contains("maybe", line, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.Password, result.StdErr, StringComparison.Ordinal);
        AssertNothingWritten();
    }

    [PostgresFact]
    public async Task SnapshotBuild_ConnectionFailure_ExitsTwoOnOneLineWithoutThePassword()
    {
        var missing = Path.Combine(_temp.Path, "no-server-here");
        var result = await CliProcess.RunInProcessAsync("snapshot", "build", "--consent-db", $"Host={missing};Username=cf;Password={PostgresServer.Password};Timeout=3",
            "--consent-query", "SELECT 1", "--out", _temp.File("out.snap"));

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("cannot connect", line, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.Password, result.StdOut + result.StdErr, StringComparison.Ordinal);
        AssertNothingWritten();
    }

    [PostgresFact]
    public async Task SnapshotBuild_QueryError_ExitsTwoOnOneLineWithoutThePassword()
    {
        var result = await BuildFromDb("SELECT user_id, ai_training FROM no_such_table");

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("no_such_table", line, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.Password, result.StdOut + result.StdErr, StringComparison.Ordinal);
        AssertNothingWritten();
    }

    [PostgresFact]
    public async Task SnapshotBuild_ServerKilledMidRead_ExitsOneAndCommitsNothing()
    {
        // 5,000 rows at once, then one row every 2 ms: the backend is killed while the build is reading.
        const string Marker = "cf_kill_marker";
        var query = $"SELECT 'u' || g AS user_id, 'granted' AS ai_training, '{Marker}' AS note FROM generate_series(1, 100000) AS g "
            + "WHERE g <= 5000 OR (SELECT true FROM pg_sleep(0.002 + g * 0))"; // correlated: one sleep per row, not one in all
        var build = BuildFromDb(query);
        await _server.KillBackendRunningAsync(Marker, TimeSpan.FromMilliseconds(500));
        var result = await build;
        _server.WaitUntilReady();

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Single(result.StdErrLines);
        Assert.DoesNotContain(PostgresServer.Password, result.StdOut + result.StdErr, StringComparison.Ordinal);
        AssertNothingWritten();
    }

    private Task<CliResult> BuildFromDb(string query) => Task.Run(() => CliProcess.RunInProcessAsync(
        "snapshot", "build", "--consent-db", _server.ConnectionString, "--consent-query", query, "--out", _temp.File("out.snap")));

    /// <summary>No snapshot and no temporary file or directory (hidden ones included) beside where it would be.</summary>
    private void AssertNothingWritten() =>
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_temp.Path, "*", new EnumerationOptions { AttributesToSkip = 0 }),
            p => !Path.GetFileName(p).EndsWith(".csv", StringComparison.Ordinal));

    /// <summary>Creates a table of native types (boolean gpc, timestamptz updated_at; text elsewhere) holding the CSV's rows, empty cells as NULL.</summary>
    private string LoadTable(string name, string csv)
    {
        var table = $"{name}_{Guid.NewGuid():N}"[..(name.Length + 9)];
        _server.Execute($"CREATE TABLE {table} (user_id text, region text, ai_training text, gpc boolean, minor text, updated_at timestamptz)");
        using var connection = new NpgsqlConnection(_server.ConnectionString);
        connection.Open();
        using var writer = connection.BeginBinaryImport($"COPY {table} (user_id, region, ai_training, gpc, minor, updated_at) FROM STDIN (FORMAT BINARY)");
        foreach (var line in csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var f = line.Split(',');
            writer.StartRow();
            writer.Write(f[0], NpgsqlDbType.Text);
            WriteText(f[1]);
            WriteText(f[2]);
            if (f[3].Length == 0)
            {
                writer.WriteNull();
            }
            else
            {
                writer.Write(f[3] == "true", NpgsqlDbType.Boolean);
            }

            WriteText(f[4]);
            if (f[5].Length == 0)
            {
                writer.WriteNull();
            }
            else
            {
                writer.Write(DateTimeOffset.Parse(f[5], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).UtcDateTime, NpgsqlDbType.TimestampTz);
            }
        }

        writer.Complete();
        return table;

        void WriteText(string cell)
        {
            if (cell.Length == 0)
            {
                writer.WriteNull();
            }
            else
            {
                writer.Write(cell, NpgsqlDbType.Text);
            }
        }
    }

    private static void AssertSameConsent(IConsentSnapshot actual, IConsentSnapshot expected, ConsentSnapshot users)
    {
        Assert.Equal(expected.Info.Users, actual.Info.Users);
        Assert.Equal(expected.Info.Rows, actual.Info.Rows);
        Assert.Equal(expected.Info.Conflicts, actual.Info.Conflicts);
        Assert.Equal(expected.Info.AsOf, actual.Info.AsOf);
        foreach (var id in users.Users.Keys.Append("absent"u8.ToArray()))
        {
            Assert.Equal(expected.TryGetUser(id, out var e), actual.TryGetUser(id, out var a));
            Assert.Equal(e.States[0], a.States[0]);
            Assert.Equal(e.Gpc, a.Gpc);
            Assert.Equal(e.Minor, a.Minor);
            Assert.Equal(e.HomeRegions ?? [], a.HomeRegions ?? []);
        }
    }

    private static string RandomConsentCsv(Random random, int rows)
    {
        var csv = new StringBuilder("user_id,region,ai_training,gpc,minor,updated_at\n");
        var distinct = Math.Max(1, rows / 3);
        for (var i = 0; i < rows; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"u{random.Next(distinct)}").Append(',')
                .Append(s_regions[random.Next(s_regions.Length)]).Append(',')
                .Append(s_consent[random.Next(s_consent.Length)]).Append(',')
                .Append(random.Next(3) switch { 0 => "true", 1 => "false", _ => "" }).Append(',')
                .Append(random.Next(8) == 0 ? "yes" : "").Append(',')
                .Append(s_timestamps[random.Next(s_timestamps.Length)]).Append('\n');
        }

        return csv.ToString();
    }
}
