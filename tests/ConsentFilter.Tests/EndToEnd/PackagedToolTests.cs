using System.Diagnostics;
using System.Text.Json;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>The tool package as users get it: packed, installed into a tool path from a local source, run on the samples.</summary>
[Collection(BuildsCollection.Name)]
public sealed class PackagedToolTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task PackInstallRun_Samples_Keeps858()
    {
        var root = RepositoryRoot();
        using var dir = new TempDirectory();
        var packages = Path.Combine(dir.Path, "packages");
        var tools = Path.Combine(dir.Path, "tools");
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif

        // The test build already compiled the CLI; packing without building keeps the test quick and race-free.
        var pack = await RunAsync(Dotnet(), root, null, "pack", Path.Combine(root, "src", "ConsentFilter.Cli"), "-c", configuration, "--no-build", "-o", packages);
        Assert.True(pack.ExitCode == 0, pack.ToString());

        // A private package cache, so an older ConsentFilter.Cli 0.1.0 cached by an earlier run cannot be installed instead.
        var cache = Path.Combine(dir.Path, "nuget-cache");
        var install = await RunAsync(Dotnet(), dir.Path, cache, "tool", "install", "--tool-path", tools, "--add-source", packages, "--ignore-failed-sources", "ConsentFilter.Cli");
        Assert.True(install.ExitCode == 0, install.ToString());

        var report = Path.Combine(dir.Path, "report.json");
        var run = await RunAsync(Path.Combine(tools, OperatingSystem.IsWindows() ? "consentfilter.exe" : "consentfilter"), root, null,
            "filter", "--records", "samples/records.jsonl", "--consent", "samples/consent.csv", "--jurisdictions", "samples/jurisdictions.csv",
            "--subject-field", "recipients", "--out", Path.Combine(dir.Path, "kept.jsonl"), "--report", report);
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(File.ReadAllBytes(report));
        Assert.Equal(858, json.RootElement.GetProperty("kept").GetInt64());
        Assert.Equal(858, File.ReadAllLines(Path.Combine(dir.Path, "kept.jsonl")).Length);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ConsentFilter.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no ConsentFilter.sln above {AppContext.BaseDirectory}");
    }

    private static string Dotnet() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static async Task<CliResult> RunAsync(string program, string workingDirectory, string? packageCache, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment.Remove("CONSENTFILTER_HASH_KEY");
        if (packageCache is not null)
        {
            start.Environment["NUGET_PACKAGES"] = packageCache;
        }

        // The installed apphost finds the runtime through DOTNET_ROOT when dotnet is not installed in the default place.
        if (Path.GetDirectoryName(Dotnet()) is { Length: > 0 } dotnetRoot)
        {
            start.Environment["DOTNET_ROOT"] = dotnetRoot;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(s_timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {s_timeout}");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
