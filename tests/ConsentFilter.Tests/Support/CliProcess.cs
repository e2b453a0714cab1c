using System.Diagnostics;
using System.Text;
using ConsentFilter.Cli;

namespace ConsentFilter.Tests.Support;

/// <summary>What one run of the CLI printed and returned.</summary>
public sealed record CliResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Standard error split into non-empty lines.</summary>
    public string[] StdErrLines => StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>Runs the real CLI: as a separate <c>dotnet ConsentFilter.Cli.dll</c> process, or in-process through <see cref="ConsoleApp"/>.</summary>
public static class CliProcess
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>The CLI assembly, copied next to the test assembly by the project reference.</summary>
    public static string CliDll { get; } = FindCliDll();

    /// <summary>Runs <c>dotnet ConsentFilter.Cli.dll args</c> in <paramref name="workingDirectory"/> and waits for it.</summary>
    public static Task<CliResult> RunAsync(string workingDirectory, params string[] args) => RunAsync(workingDirectory, args, (string?)null);

    /// <summary>Runs the CLI with <paramref name="stdin"/> (UTF-8) as its standard input.</summary>
    public static Task<CliResult> RunAsync(string workingDirectory, string[] args, string? stdin) => RunAsync(workingDirectory, args, stdin, environment: null);

    /// <summary>Runs the CLI with extra <paramref name="environment"/> variables (set after the inherited ones are cleaned).</summary>
    public static Task<CliResult> RunAsync(string workingDirectory, string[] args, string? stdin, IReadOnlyDictionary<string, string>? environment) =>
        RunAsync(workingDirectory, args, stdin is null ? null : Encoding.UTF8.GetBytes(stdin), environment);

    /// <summary>Runs the CLI with <paramref name="stdin"/> as its standard input, byte for byte.</summary>
    public static Task<CliResult> RunAsync(string workingDirectory, string[] args, byte[] stdin) => RunAsync(workingDirectory, args, stdin, environment: null);

    private static async Task<CliResult> RunAsync(string workingDirectory, string[] args, byte[]? stdin, IReadOnlyDictionary<string, string>? environment)
    {
        var start = StartInfo(workingDirectory, args);
        start.RedirectStandardInput = true;
        start.StandardOutputEncoding = new UTF8Encoding(false);
        start.StandardErrorEncoding = new UTF8Encoding(false);

        start.Environment.Remove("CONSENTFILTER_HASH_KEY");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(s_timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the CLI did not finish within {s_timeout}: {string.Join(' ', args)}");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts the CLI and kills it (SIGKILL) after <paramref name="delay"/>; returns its exit code if it finished first, else null.</summary>
    public static async Task<int?> RunAndKillAsync(string workingDirectory, string[] args, TimeSpan delay)
    {
        var start = StartInfo(workingDirectory, args);

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var drainOut = process.StandardOutput.ReadToEndAsync();
        var drainErr = process.StandardError.ReadToEndAsync();
        using var wait = new CancellationTokenSource(delay);
        try
        {
            await process.WaitForExitAsync(wait.Token);
            await Task.WhenAll(drainOut, drainErr);
            return process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return null;
        }
    }

    /// <summary>Runs the CLI in this process through <see cref="ConsoleApp.RunAsync"/>, capturing its writers.</summary>
    public static async Task<CliResult> RunInProcessAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await ConsoleApp.RunAsync(args, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// The command line that runs the CLI: <c>dotnet ConsentFilter.Cli.dll</c>, or the native executable named by
    /// <c>CONSENTFILTER_TEST_CLI</c> (set it to run every process test against a <c>dotnet publish -r</c> build).
    /// </summary>
    internal static ProcessStartInfo StartInfo(string workingDirectory, IEnumerable<string> args, string? executable = null)
    {
        executable ??= Environment.GetEnvironmentVariable("CONSENTFILTER_TEST_CLI") is { Length: > 0 } native ? native : null;
        var start = new ProcessStartInfo(executable ?? DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (executable is null)
        {
            start.ArgumentList.Add(CliDll);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        if (Environment.ProcessPath is { } current
            && Path.GetFileNameWithoutExtension(current).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return current;
        }

        return "dotnet";
    }

    private static string FindCliDll()
    {
        var besideTests = Path.Combine(AppContext.BaseDirectory, "ConsentFilter.Cli.dll");
        if (File.Exists(besideTests))
        {
            return besideTests;
        }

        throw new FileNotFoundException($"ConsentFilter.Cli.dll is not next to the test assembly in {AppContext.BaseDirectory}; build the test project first");
    }
}
