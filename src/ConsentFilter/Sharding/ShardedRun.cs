using System.Text.Json.Nodes;
using ConsentFilter.IO;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Sharding;

/// <summary>
/// One output per input file under a run directory, so per-file units can be spread over tasks and machines:
/// <c>DIR/NAME</c> (kept records, same name and compression as the input), <c>DIR/_audit/NAME.rejected.jsonl</c> and
/// <c>.quarantine.jsonl</c>, <c>DIR/_reports/files/NAME.json</c>, then the completion marker <c>DIR/_done/NAME.done</c>,
/// written only after everything before it is committed. Each task also writes <c>DIR/_reports/task-I-of-N.json</c>.
/// </summary>
public static class ShardedRun
{
    /// <summary>Filters the files assigned to <paramref name="shard"/>; returns the task's merged report.</summary>
    /// <param name="filter">The filter (snapshot, table, options).</param>
    /// <param name="inputs">Every input of the whole run (all tasks must pass the same list).</param>
    /// <param name="directory">The run directory.</param>
    /// <param name="shard">This task.</param>
    /// <param name="resume">Skip files whose completion marker exists (their outputs are already committed).</param>
    /// <param name="cancellationToken">Stops the run; files not finished leave nothing behind.</param>
    /// <exception cref="ArgumentException">Two inputs have the same file name.</exception>
    /// <exception cref="PathConflictException">A file the run would write is one of its inputs (records, consent, jurisdictions).</exception>
    public static async Task<JsonObject> RunAsync(
        RecordFilter filter, IReadOnlyList<string> inputs, string directory, Shard shard, bool resume, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(inputs);
        var names = inputs.Select(Path.GetFileName).ToList();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count || inputs.Contains(RecordFiles.StandardStream))
        {
            throw new ArgumentException("with one output per input, every input must be a file with a distinct file name", nameof(inputs));
        }

        PathIdentity.ThrowIfConflicting(FileRunPaths.Inputs(filter.Policy, inputs), OutputPaths(directory, inputs, shard));
        var files = inputs.Select(i => (i, new FileInfo(i).Length)).ToList();
        var mine = ShardAssignment.FilesFor(files, shard);
        var current = EmptyReport(filter);
        RemoveStale(Path.Combine(directory, "_reports"), ReportMerger.TaskReportName(shard));
        var parts = new List<JsonObject>();
        foreach (var input in mine)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = Path.GetFileName(input);
            var marker = Path.Combine(directory, "_done", name + ".done");
            var fileReport = Path.Combine(directory, "_reports", "files", name + ".json");
            // Resume only a unit done with the same consent, table, purpose and options: a different snapshot redoes it.
            if (!(resume && File.Exists(marker) && File.Exists(fileReport) && SameRun(ReportMerger.Read(fileReport), current)
                && StillDone(input, Path.Combine(directory, name), marker)))
            {
                // A killed earlier attempt at this file may have left temporary or backup files; this task owns them.
                RemoveStaleOutputs(directory, name);
                var outputs = new FilterFileOutputs(
                    Path.Combine(directory, name),
                    Path.Combine(directory, "_audit", name + ".rejected.jsonl"),
                    Path.Combine(directory, "_audit", name + ".quarantine.jsonl"),
                    fileReport);
                // The input as it was before it was read: a change while the run reads it shows on resume as well.
                var inputState = StateOf(input);
                await filter.RunToFilesAsync([input], outputs, cancellationToken).ConfigureAwait(false);
                await using (var done = AtomicFile.Create(marker))
                {
                    var text = $"complete\ninput {inputState}\noutput {StateOf(Path.Combine(directory, name))}\n";
                    await done.Stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
                    await done.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            parts.Add(ReportMerger.Read(fileReport));
        }

        var report = parts.Count > 0 ? ReportMerger.Merge(parts) : EmptyReport(filter);
        report["shard"] = new JsonObject { ["index"] = shard.Index, ["count"] = shard.Count, ["files"] = mine.Count };
        await using (var file = AtomicFile.Create(Path.Combine(directory, "_reports", ReportMerger.TaskReportName(shard))))
        {
            ReportMerger.Write(report, file.Stream);
            await file.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        return report;
    }

    /// <summary>Every file task <paramref name="shard"/> of a run over <paramref name="inputs"/> may write under <paramref name="directory"/>, each with its role.</summary>
    public static IEnumerable<(string Role, string Path)> OutputPaths(string directory, IReadOnlyList<string> inputs, Shard shard)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var name in inputs.Select(Path.GetFileName).OfType<string>())
        {
            yield return ("--out-dir output", Path.Combine(directory, name));
            yield return ("--out-dir manifest", Provenance.Manifest.PathFor(Path.Combine(directory, name)));
            yield return ("--out-dir rejections", Path.Combine(directory, "_audit", name + ".rejected.jsonl"));
            yield return ("--out-dir quarantine", Path.Combine(directory, "_audit", name + ".quarantine.jsonl"));
            yield return ("--out-dir report", Path.Combine(directory, "_reports", "files", name + ".json"));
            yield return ("--out-dir marker", Path.Combine(directory, "_done", name + ".done"));
        }

        yield return ("--out-dir task report", Path.Combine(directory, "_reports", ReportMerger.TaskReportName(shard)));
    }

    /// <summary>Merges the task reports of a run directory; incomplete when a task of <c>0..N-1</c> is missing.</summary>
    /// <returns>The merged report and the missing task indexes.</returns>
    /// <exception cref="InvalidDataException">No task report, task reports for different counts, or parts that disagree.</exception>
    public static (JsonObject Report, IReadOnlyList<int> Missing) MergeTasks(string directory)
    {
        var folder = Path.Combine(directory, "_reports");
        var found = Directory.Exists(folder) ? Directory.GetFiles(folder, "task-*-of-*.json") : [];
        if (found.Length == 0)
        {
            throw new InvalidDataException($"{directory}: no task reports in _reports/");
        }

        var reports = found.Select(path => (path, report: ReportMerger.Read(path))).ToList();
        var counts = reports.Select(r => r.report["shard"]?["count"]?.GetValue<int>() ?? 0).Distinct().ToList();
        if (counts.Count != 1 || counts[0] < 1)
        {
            throw new InvalidDataException($"{directory}: task reports disagree on the task count ({string.Join(", ", counts)})");
        }

        // Each input belongs to one task: a path in two task reports means tasks ran over different --records lists
        // (the assignment by size moved), so one file is counted twice and another perhaps never filtered.
        var twice = reports.SelectMany(r => (r.report["inputs"]?.AsArray() ?? []).Select(i => i?["path"]?.GetValue<string>()))
            .GroupBy(p => p, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
        {
            throw new InvalidDataException($"{directory}: the input '{twice.Key}' is in more than one task report (were the tasks given different --records?)");
        }

        var present = reports.Select(r => r.report["shard"]!["index"]!.GetValue<int>()).ToHashSet();
        var missing = Enumerable.Range(0, counts[0]).Where(i => !present.Contains(i)).ToList();
        var merged = ReportMerger.Merge([.. reports.Select(r => r.report)], complete: missing.Count == 0);
        merged.Remove("shard");
        merged["tasks"] = new JsonObject { ["count"] = counts[0], ["present"] = present.Count, ["missing"] = new JsonArray([.. missing.Select(m => (JsonNode)m)]) };
        return (merged, missing);
    }

    /// <summary>Deletes the temporary and backup files (<c>.FINAL.GUID.tmp</c>, <c>.FINAL.GUID.old</c>) of this input's outputs left by a killed attempt.</summary>
    private static void RemoveStaleOutputs(string directory, string name)
    {
        (string Folder, string Final)[] outputs =
        [
            (directory, name),
            (directory, name + ".manifest.json"),
            (Path.Combine(directory, "_audit"), name + ".rejected.jsonl"),
            (Path.Combine(directory, "_audit"), name + ".quarantine.jsonl"),
            (Path.Combine(directory, "_reports", "files"), name + ".json"),
            (Path.Combine(directory, "_done"), name + ".done"),
        ];
        foreach (var (folder, final) in outputs)
        {
            RemoveStale(folder, final);
        }
    }

    /// <summary>Deletes <c>.STEM.GUID.tmp</c> and <c>.STEM.GUID.old</c> in <paramref name="folder"/> (the stem is the final name, shortened past 217 bytes).</summary>
    /// <remarks>
    /// Two final names that share their first 217 bytes share a stem, so such files of one are taken for the other's:
    /// harmless within a task (its files are done one after another), and a concurrent task's file removed this way
    /// fails that task's commit (nothing published), never a wrong output.
    /// </remarks>
    private static void RemoveStale(string folder, string final)
    {
        var stem = AtomicFile.Stem(final);
        if (Directory.Exists(folder))
        {
            foreach (var stale in Directory.EnumerateFiles(folder, $".{stem}.*"))
            {
                // Exactly ".STEM." + 32 hex digits + ".tmp" or ".old": never another output's file.
                var rest = Path.GetFileName(stale)[(stem.Length + 2)..];
                if (rest.Length == 36 && (rest.EndsWith(".tmp", StringComparison.Ordinal) || rest.EndsWith(".old", StringComparison.Ordinal))
                    && rest[..32].All(char.IsAsciiHexDigitLower))
                {
                    File.Delete(stale);
                }
            }
        }
    }

    /// <summary>
    /// Whether a unit marked done still stands: its marker holds the input's and the output's state as they were when it
    /// was done (<see cref="StateOf"/>), and both are still so.
    /// </summary>
    /// <remarks>
    /// Records appended to an input after (or while) its unit was done would otherwise be skipped by <c>--resume</c> with
    /// a report that counts only the old ones; an output deleted or edited since would stay so. Nothing is read, so
    /// resuming a mostly done run of terabytes costs a stat per file. A marker without states (an older version's) does
    /// not stand: its unit is done again.
    /// </remarks>
    private static bool StillDone(string input, string output, string marker)
    {
        if (!File.Exists(output))
        {
            return false;
        }

        var lines = File.ReadAllLines(marker);
        return lines.Contains($"input {StateOf(input)}", StringComparer.Ordinal) && lines.Contains($"output {StateOf(output)}", StringComparer.Ordinal);
    }

    /// <summary>A file's size and change time (the inode's ctime on Linux, which no copy or touch sets back; else its modification time).</summary>
    private static string StateOf(string path)
    {
        var changed = FileStatus.ChangeTimeUtc(path) ?? File.GetLastWriteTimeUtc(path);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{new FileInfo(path).Length} {changed.Ticks}");
    }

    private static bool SameRun(JsonObject done, JsonObject current) =>
        new[] { "purpose", "options" }.All(k => done[k]?.ToJsonString() == current[k]?.ToJsonString())
        && new[] { "snapshot", "jurisdictions" }.All(k => done[k]?["sha256"]?.ToJsonString() == current[k]?["sha256"]?.ToJsonString()
            && done[k]?["as_of"]?.ToJsonString() == current[k]?["as_of"]?.ToJsonString());

    private static JsonObject EmptyReport(RecordFilter filter)
    {
        using var buffer = new MemoryStream();
        var empty = filter.CreateEmptyReport();
        empty.WriteJson(buffer);
        return (JsonObject)JsonNode.Parse(buffer.ToArray())!;
    }
}
