using System.Diagnostics;

namespace ConsentFilter.Tests.Support;

/// <summary>Special files for tests: named pipes, device nodes and what <c>stat</c> says a path is.</summary>
public static class Fifo
{
    /// <summary>Creates a named pipe with <c>mkfifo</c>.</summary>
    public static void Make(string path) => Assert.Equal(0, Run("mkfifo", path).ExitCode);

    /// <summary>What <c>stat -c %F</c> says (without following a link): "fifo", "character special file", "symbolic link", ….</summary>
    public static string KindOf(string path) => Run("stat", "-c", "%F", path).Output.Trim();

    /// <summary>
    /// A null device to write to: a private one (<c>mknod c 1 3</c>) in <paramref name="directory"/> when running as root,
    /// so a regression that replaces it cannot damage the machine's <c>/dev/null</c>; else <c>/dev/null</c>, which a
    /// normal user cannot replace.
    /// </summary>
    public static string NullDevice(string directory)
    {
        var path = Path.Combine(directory, "null");
        return Environment.UserName == "root" && Run("mknod", path, "c", "1", "3").ExitCode == 0 ? path : "/dev/null";
    }

    private static (int ExitCode, string Output) Run(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { UseShellExecute = false, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException($"{program} did not start");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }
}
