using ConsentFilter.IO;
using ConsentFilter.Pipeline;
using ConsentFilter.Sharding;

namespace ConsentFilter.Cli;

/// <summary>Checks of the files a command names, made before anything is read: inputs that exist, outputs that are not inputs.</summary>
internal static class RunPaths
{
    private const string StandardStream = "-";

    /// <summary>Every records path names an existing file (or is <c>-</c>); a directory is said to be one.</summary>
    public static void RequireRecordFiles(IEnumerable<string> inputs)
    {
        foreach (var input in inputs)
        {
            if (input == StandardStream || (File.Exists(input) && !InputPaths.IsMissing(input)))
            {
                continue;
            }

            throw new UsageException(Directory.Exists(input)
                ? $"{input}: is a directory, not a records file (give its files, e.g. {Path.Combine(input, "*.jsonl")})"
                : $"{input}: records file not found{(File.Exists(input) ? " (a symbolic link to a file that does not exist)" : string.Empty)}");
        }
    }

    /// <summary>Says on standard error that records are awaited from a terminal, which otherwise looks like a hang.</summary>
    public static void HintIfReadingATerminal(IEnumerable<string> inputs, TextWriter stderr)
    {
        if (inputs.Contains(StandardStream) && !Console.IsInputRedirected)
        {
            stderr.WriteLine("consentfilter: reading records from standard input (a terminal); end with Ctrl+D, or give --records FILE");
        }
    }

    /// <summary>The files every command of a filter run reads besides its records.</summary>
    public static IEnumerable<(string Role, string Path)> Inputs(IEnumerable<string> records, string consent, string? jurisdictions, string? hashKeyFile)
    {
        foreach (var path in records)
        {
            yield return ("--records", path);
        }

        yield return ("--consent", consent);
        if (jurisdictions is not null)
        {
            yield return ("--jurisdictions", jurisdictions);
        }

        if (hashKeyFile is not null)
        {
            yield return ("--hash-key-file", hashKeyFile);
        }
    }

    /// <summary><c>filter --out</c>: the outputs (and the manifest beside <c>--out</c>) against the inputs and each other.</summary>
    public static void CheckFilter(IEnumerable<(string Role, string Path)> inputs, FilterFileOutputs outputs, bool manifest)
    {
        var written = new List<(string Role, string Path)> { ("--out", outputs.Output) };
        AddIfGiven(written, "--rejected", outputs.Rejections);
        AddIfGiven(written, "--quarantine", outputs.Quarantine);
        AddIfGiven(written, "--report", outputs.Report);
        foreach (var (role, path) in written)
        {
            RequireFilePath(role, path);
        }

        if (manifest && outputs.Output != StandardStream)
        {
            written.Add(("the manifest of --out", Provenance.Manifest.PathFor(outputs.Output)));
        }

        PathIdentity.ThrowIfConflicting(inputs, written);
    }

    /// <summary>An output path must name a file: not empty, not a directory (existing, or written with a trailing separator).</summary>
    private static void RequireFilePath(string role, string path)
    {
        if (path.Length == 0)
        {
            throw new UsageException($"{role}: the path is empty");
        }

        if (path != StandardStream && (Path.EndsInDirectorySeparator(path) || Directory.Exists(path)))
        {
            throw new UsageException($"{role} {path}: is a directory; give a file path");
        }
    }

    /// <summary><c>filter --out-dir</c>: every file the task may write under the directory, and <c>--report</c>.</summary>
    public static void CheckSharded(IEnumerable<(string Role, string Path)> inputs, IReadOnlyList<string> records, string directory, Shard shard, string? report)
    {
        var written = ShardedRun.OutputPaths(directory, records, shard).ToList();
        AddIfGiven(written, "--report", report);
        PathIdentity.ThrowIfConflicting(inputs, written);
    }

    /// <summary>Any other command: its outputs (null when not given) against its inputs and each other.</summary>
    public static void Check(IEnumerable<(string Role, string? Path)> inputs, params (string Role, string? Path)[] outputs) =>
        PathIdentity.ThrowIfConflicting(
            inputs.Where(i => i.Path is not null).Select(i => (i.Role, i.Path!)),
            outputs.Where(o => o.Path is not null).Select(o => (o.Role, o.Path!)));

    private static void AddIfGiven(List<(string Role, string Path)> written, string role, string? path)
    {
        if (path is not null)
        {
            written.Add((role, path));
        }
    }
}
