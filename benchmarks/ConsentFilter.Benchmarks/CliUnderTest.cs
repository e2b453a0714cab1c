using System.Diagnostics;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// Which consentfilter the process benchmarks run: the framework-dependent CLI next to this assembly
/// (<c>dotnet ConsentFilter.Cli.dll</c>), or a native executable given with <c>--native PATH</c>: the installed tool's
/// <c>consentfilter</c>, or <c>artifacts/native/consentfilter</c> from
/// <c>dotnet publish src/ConsentFilter.Cli -c Release -r linux-x64 -o artifacts/native</c>.
/// </summary>
internal sealed record CliUnderTest(string Name, string Program, string? Assembly)
{
    internal static CliUnderTest Managed { get; } = new("managed (JIT)", "dotnet", Path.Combine(AppContext.BaseDirectory, "ConsentFilter.Cli.dll"));

    /// <summary>The native executable named by <c>--native PATH</c> in <paramref name="args"/>, or null.</summary>
    internal static CliUnderTest? Native(string[] args)
    {
        var i = Array.IndexOf(args, "--native");
        if (i < 0 || i + 1 >= args.Length)
        {
            return null;
        }

        var path = Path.GetFullPath(args[i + 1]);
        return File.Exists(path) ? new CliUnderTest("native (AOT)", path, null) : throw new FileNotFoundException($"--native: no executable at {path}");
    }

    internal ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Program) { RedirectStandardError = true, RedirectStandardOutput = true };
        if (Assembly is not null)
        {
            start.ArgumentList.Add(Assembly);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>The command prefix for a shell line, quoted.</summary>
    internal string ShellPrefix => Assembly is null ? $"'{Program}'" : $"{Program} '{Assembly}'";
}
