using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ConsentFilter.Tests.Streaming;

/// <summary>A fact that needs a real <c>nats-server</c> binary (on PATH or in /usr/sbin); skipped when there is none.</summary>
public sealed class NatsFactAttribute : FactAttribute
{
    public NatsFactAttribute()
    {
        if (NatsServer.FindBinary() is null)
        {
            Skip = "nats-server not found on PATH or in /usr/sbin";
        }
    }
}

/// <summary>A private <c>nats-server -js</c> on a free loopback port with a temporary store; killed and deleted on dispose.</summary>
public sealed class NatsServer : IDisposable
{
    private readonly string _store;
    private readonly string? _binary;
    private readonly int _port;
    private Process? _process;

    public NatsServer()
    {
        _store = Path.Combine(Path.GetTempPath(), "consentfilter-nats", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_store);
        if (FindBinary() is not { } binary)
        {
            _binary = null;
            Url = "nats://127.0.0.1:1";
            return;
        }

        _binary = binary;
        _port = FreePort();
        Url = $"nats://127.0.0.1:{_port}";
        _process = Start();
    }

    public string Url { get; }

    /// <summary>
    /// Stops the server (SIGTERM: a clean shutdown that flushes the store, or SIGKILL when <paramref name="kill"/>) and
    /// starts it again on the same port with the same store directory.
    /// </summary>
    public void Restart(bool kill = false)
    {
        if (_process is null)
        {
            return;
        }

        if (kill)
        {
            _process.Kill();
        }
        else
        {
            using var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            term.WaitForExit();
        }

        if (!_process.WaitForExit(10_000))
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
        _process = Start();
    }

    public static string? FindBinary()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator).Append("/usr/sbin"))
        {
            var candidate = Path.Combine(dir, "nats-server");
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public void Dispose()
    {
        if (_process is not null)
        {
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
            Directory.Delete(_store, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Process Start()
    {
        var start = new ProcessStartInfo(_binary!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-js", "-sd", _store, "-a", "127.0.0.1", "-p", _port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, _port);
                return process;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                Thread.Sleep(20);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
