using System.Text.Json;
using System.Text.RegularExpressions;
using ConsentFilter.Cli;

namespace ConsentFilter.Tests.Docs;

/// <summary>The README's two commands stay true: the sample run gives the figures it states, CI runs its test command.</summary>
public sealed partial class ReadmeTests : IDisposable
{
    private readonly string _root = RepositoryRoot();
    private readonly string _temp = Directory.CreateTempSubdirectory("cf-readme-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task FirstCommand_OnSamples_GivesTheStatedCounts()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(_root, "README.md"));
        var command = FirstFilterCommand().Match(readme);
        Assert.True(command.Success, "README has no 'dotnet run ... -- filter' command");
        var stated = StatedCounts().Match(readme);
        Assert.True(stated.Success, "README does not state the sample counts");

        // Same arguments, outputs redirected to a temporary directory, run from the repository root.
        var args = command.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(a => a.StartsWith("out/", StringComparison.Ordinal) ? Path.Combine(_temp, a) : a.StartsWith("samples/", StringComparison.Ordinal) ? Path.Combine(_root, a) : a)
            .Concat(["--report", Path.Combine(_temp, "report.json")])
            .ToArray();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await ConsoleApp.RunAsync(args, stdout, stderr);

        Assert.True(code == 0, stderr.ToString());
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_temp, "report.json")));
        var r = report.RootElement;
        Assert.Equal(long.Parse(stated.Groups["records"].Value, System.Globalization.CultureInfo.InvariantCulture), r.GetProperty("records").GetInt64());
        Assert.Equal(long.Parse(stated.Groups["kept"].Value, System.Globalization.CultureInfo.InvariantCulture), r.GetProperty("kept").GetInt64());
        Assert.Equal(long.Parse(stated.Groups["dropped"].Value, System.Globalization.CultureInfo.InvariantCulture), r.GetProperty("dropped").GetProperty("total").GetInt64());
        Assert.Equal(long.Parse(stated.Groups["quarantined"].Value, System.Globalization.CultureInfo.InvariantCulture), r.GetProperty("quarantined").GetProperty("total").GetInt64());
        Assert.True(File.Exists(Path.Combine(_temp, "out", "kept.jsonl")));
    }

    [Fact]
    public async Task SecondCommand_IsWhatCiRuns()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(_root, "README.md"));
        var ci = await File.ReadAllTextAsync(Path.Combine(_root, ".ci", "run"));
        Assert.Contains("dotnet test ConsentFilter.sln\n", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet test ConsentFilter.sln ", ci, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InstallLine_PacksWithTheScript_AndInstallsTheToolPackage()
    {
        // NativeBuildTests packs and installs the same way (pointer + native package, dotnet tool install --add-source).
        var readme = await File.ReadAllTextAsync(Path.Combine(_root, "README.md"));
        var install = InstallLine().Match(readme);
        Assert.True(install.Success, "README has no '.ci/pack-tool FEED && dotnet tool install ... --add-source FEED ID' line");
        Assert.Equal(install.Groups["feed"].Value, install.Groups["source"].Value);
        Assert.True(File.Exists(Path.Combine(_root, ".ci", "pack-tool")));
        var project = await File.ReadAllTextAsync(Path.Combine(_root, "src", "ConsentFilter.Cli", "ConsentFilter.Cli.csproj"));
        Assert.Contains($"<PackageId>{install.Groups["id"].Value}</PackageId>", project, StringComparison.Ordinal);
        Assert.Contains("<ToolCommandName>consentfilter</ToolCommandName>", project, StringComparison.Ordinal);
    }

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "ConsentFilter.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    [GeneratedRegex(@"dotnet run --project src/ConsentFilter\.Cli -- (?<args>filter [^\n`]+)")]
    private static partial Regex FirstFilterCommand();

    [GeneratedRegex(@"\.ci/pack-tool (?<feed>\S+) && dotnet tool install --global --add-source (?<source>\S+) (?<id>[\w.]+)\n")]
    private static partial Regex InstallLine();

    [GeneratedRegex(@"\((?<records>\d+) records: (?<kept>\d+) kept, (?<dropped>\d+) dropped, (?<quarantined>\d+) quarantined\)")]
    private static partial Regex StatedCounts();
}
