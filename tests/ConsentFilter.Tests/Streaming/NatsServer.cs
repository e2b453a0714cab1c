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
    private readonly Process? _process;
    private readonly string _store;

    public NatsServer()
    {
        _store = Path.Combine(Path.GetTempPath(), "consentfilter-nats", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_store);
        if (FindBinary() is not { } binary)
        {
            Url = "nats://127.0.0.1:1";
            return;
        }

        var port = FreePort();
        Url = $"nats://127.0.0.1:{port}";
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-js", "-sd", _store, "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                Thread.Sleep(50);
            }
        }
    }

    public string Url { get; }

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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
