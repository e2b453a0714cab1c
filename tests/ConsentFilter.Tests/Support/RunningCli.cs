using System.Diagnostics;
using System.Text;

namespace ConsentFilter.Tests.Support;

/// <summary>A CLI process started in the background, to be signalled, read from or closed on while it runs.</summary>
public sealed class RunningCli : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly Task<string> _stderr;
    private Task<string>? _stdout;

    private RunningCli(Process process, bool readStdout)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
        _stdout = readStdout ? process.StandardOutput.ReadToEndAsync() : null;
    }

    public int Id => _process.Id;

    /// <summary>The process's standard output, for a test that reads part of it and closes it.</summary>
    public StreamReader StandardOutput => _process.StandardOutput;

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts <c>consentfilter args</c> (or <paramref name="executable"/>, with <paramref name="environment"/> added);
    /// standard output is drained unless <paramref name="readStdoutYourself"/>.
    /// </summary>
    public static RunningCli Start(string workingDirectory, string[] args, bool readStdoutYourself = false, string? executable = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = CliProcess.StartInfo(workingDirectory, args, executable);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        start.StandardOutputEncoding = new UTF8Encoding(false);
        start.StandardErrorEncoding = new UTF8Encoding(false);
        start.Environment.Remove("CONSENTFILTER_HASH_KEY");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the CLI");
        return new RunningCli(process, !readStdoutYourself);
    }

    /// <summary>Sends a real signal (<c>kill -TERM pid</c>).</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("kill did not start");
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits for the exit; a process still running after a minute is killed and the test fails.</summary>
    public async Task<CliResult> WaitAsync()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the CLI did not finish within {s_timeout}");
        }

        var stdout = _stdout is null ? "" : await _stdout;
        return new CliResult(_process.ExitCode, stdout, await _stderr);
    }

    /// <summary>Waits until <paramref name="condition"/> holds (polling), or fails after 30 s.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"timed out waiting until {what}");
            await Task.Delay(20);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
