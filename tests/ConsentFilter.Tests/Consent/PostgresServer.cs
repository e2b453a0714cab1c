using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace ConsentFilter.Tests.Consent;

/// <summary>A fact that needs PostgreSQL's server binaries (Debian's <c>postgresql</c> package); skipped when there are none.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.FindBinDirectory() is null)
        {
            Skip = "PostgreSQL server binaries (initdb, postgres) not found under /usr/lib/postgresql/*/bin or on PATH";
        }
    }
}

/// <summary>
/// A private PostgreSQL server: <c>initdb</c> into a temporary directory, listening only on a Unix socket there (no TCP),
/// run as the <c>postgres</c> user when the tests run as root (initdb refuses root); stopped and deleted on dispose.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    /// <summary>The password every connection string carries: trust authentication ignores it, and no output may show it.</summary>
    public const string Password = "pw-Never-Echo-9f3b";

    private readonly string _root;
    private readonly string _data;
    private readonly string? _bin;
    private readonly bool _asPostgresUser;
    private Process? _process;

    public PostgresServer()
    {
        _root = Path.Combine(Path.GetTempPath(), "consentfilter-pg", Guid.NewGuid().ToString("N")[..12]);
        _data = Path.Combine(_root, "data");
        SocketDirectory = Path.Combine(_root, "sock");
        Directory.CreateDirectory(SocketDirectory);
        _bin = FindBinDirectory();
        if (_bin is null)
        {
            return;
        }

        _asPostgresUser = Environment.UserName == "root";
        if (_asPostgresUser)
        {
            Run("chown", "-R", "postgres:", _root);
        }

        RunServerTool(Path.Combine(_bin, "initdb"), "-D", _data, "-U", "cf", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync");
        _process = StartServer();
    }

    public string SocketDirectory { get; }

    /// <summary>A connection string to the server (with a password, which trust authentication ignores).</summary>
    public string ConnectionString => $"Host={SocketDirectory};Database=postgres;Username=cf;Password={Password};Pooling=false";

    /// <summary>The directory holding <c>initdb</c> and <c>postgres</c>: the newest Debian version, else PATH.</summary>
    public static string? FindBinDirectory()
    {
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            foreach (var dir in Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
            {
                var bin = Path.Combine(dir, "bin");
                if (File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "postgres")))
                {
                    return bin;
                }
            }
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "postgres")))
            {
                return dir;
            }
        }

        return null;
    }

    /// <summary>Runs SQL statements on a fresh connection.</summary>
    public void Execute(string sql)
    {
        using var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    /// <summary>Kills (SIGKILL) the server process running a query that contains <paramref name="marker"/>, once it runs.</summary>
    public async Task KillBackendRunningAsync(string marker, TimeSpan delay)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using (var connection = new NpgsqlConnection(ConnectionString))
            {
                connection.Open();
                using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND strpos(query, @marker) > 0", connection);
                command.Parameters.AddWithValue("marker", marker);
                if (command.ExecuteScalar() is int pid)
                {
                    await Task.Delay(delay);
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                    return;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no query containing '{marker}' started");
            }

            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        if (_process is not null)
        {
            try
            {
                RunServerTool(Path.Combine(_bin!, "pg_ctl"), "-D", _data, "stop", "-m", "immediate", "-w");
            }
            catch (InvalidOperationException)
            {
            }

            try
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }

            _process.Dispose();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Waits until the server accepts connections (after a killed backend, the server recovers first).</summary>
    public void WaitUntilReady()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                Execute("SELECT 1");
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or System.Net.Sockets.SocketException)
            {
                if (DateTime.UtcNow > deadline || _process is null || _process.HasExited)
                {
                    throw new InvalidOperationException("PostgreSQL is not accepting connections", e);
                }

                Thread.Sleep(100);
            }
        }
    }

    private Process StartServer()
    {
        var start = ServerTool(Path.Combine(_bin!, "postgres"),
            "-D", _data, "-k", SocketDirectory, "-c", "listen_addresses=", "-c", "fsync=off", "-c", "timezone=UTC", "-c", "max_connections=20");
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        WaitUntilReady();
        return process;
    }

    private ProcessStartInfo ServerTool(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(_asPostgresUser ? "runuser" : tool) { UseShellExecute = false };
        if (_asPostgresUser)
        {
            foreach (var arg in new[] { "-u", "postgres", "--", tool })
            {
                start.ArgumentList.Add(arg);
            }
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    private void RunServerTool(string tool, params string[] args) => Wait(ServerTool(tool, args));

    private static void Run(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Wait(start);
    }

    private static void Wait(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{start.FileName} {string.Join(' ', start.ArgumentList)} exited {process.ExitCode}: {stderr.Result}"));
        }
    }
}
