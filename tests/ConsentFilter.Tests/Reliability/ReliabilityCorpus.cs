using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.EndToEnd;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Reliability;

/// <summary>
/// A small multi-file corpus for the fault and cancellation loops: three inputs (plain LF, gzip, CRLF with no final
/// LF), each a few batches long, with kept, dropped and malformed lines, written to every kind of output.
/// </summary>
/// <remarks>
/// The hand-made corpus's lines repeated with record ids made unique per file and repetition, so a lost, duplicated or
/// reordered line changes the output bytes.
/// </remarks>
internal sealed partial class ReliabilityCorpus : IDisposable
{
    internal const int Repetitions = 6;
    private static readonly string[] s_compressedInputs = ["a.jsonl", "b.jsonl.gz", "c.jsonl"];
    private static readonly string[] s_plainInputs = ["a.jsonl", "b.jsonl", "c.jsonl"];
    internal static readonly string[] OutputNames = ["out/kept.jsonl", "out/rejected.jsonl.gz", "out/quarantine.jsonl", "out/report.json"];

    /// <param name="compressed">Whether the second input is gzip; otherwise every input is plain, so its bytes are its lines.</param>
    internal ReliabilityCorpus(bool compressed = true)
    {
        InputNames = compressed ? s_compressedInputs : s_plainInputs;
        HandMadeCorpus.WriteTo(Dir);
        File.Delete(Dir.File(HandMadeCorpus.RecordsFile));
        Dir.Write(InputNames[0], Lines("a", "\n", finalNewline: true));
        var second = Lines("b", "\n", finalNewline: true);
        Dir.Write(InputNames[1], compressed ? Gzip(second) : Encoding.UTF8.GetBytes(second));
        Dir.Write(InputNames[2], Lines("c", "\r\n", finalNewline: false));
        Directory.CreateDirectory(Dir.File("out"));
    }

    internal TempDirectory Dir { get; } = new();

    internal string[] InputNames { get; }

    internal string[] Inputs => [.. InputNames.Select(Dir.File)];

    internal FilterFileOutputs Outputs => new(Dir.File(OutputNames[0]), Dir.File(OutputNames[1]), Dir.File(OutputNames[2]), Dir.File(OutputNames[3]));

    internal string[] OutputPaths => [.. OutputNames.Select(Dir.File)];

    internal RecordFilter Load(int parallelism = 2) => RecordFilter.Load(
        Dir.File(HandMadeCorpus.ConsentFile),
        Dir.File(HandMadeCorpus.JurisdictionsFile),
        Options(parallelism));

    internal static ConsentFilterOptions Options(int parallelism)
    {
        var options = new ConsentFilterOptions { MaxDegreeOfParallelism = parallelism, BatchBytes = 4096, ChannelCapacity = 2 };
        options.SubjectFields.Add("recipients");
        return options;
    }

    /// <summary>Every file under the corpus directory (recursively, hidden ones included) with its bytes.</summary>
    internal SortedDictionary<string, byte[]> Snapshot()
    {
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(Dir.Path, "*", new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = true }))
        {
            files[Path.GetRelativePath(Dir.Path, path)] = File.ReadAllBytes(path);
        }

        return files;
    }

    /// <summary>Puts the directory back as <paramref name="state"/> (from <see cref="Snapshot"/>) recorded it.</summary>
    internal void Restore(SortedDictionary<string, byte[]> state)
    {
        foreach (var (name, _) in Snapshot())
        {
            if (!state.ContainsKey(name))
            {
                File.Delete(Dir.File(name));
            }
        }

        foreach (var (name, bytes) in state)
        {
            File.WriteAllBytes(Dir.File(name), bytes);
        }
    }

    /// <summary>Fails with <paramref name="context"/> unless the directory holds exactly <paramref name="expected"/>.</summary>
    internal void AssertFiles(SortedDictionary<string, byte[]> expected, string context)
    {
        var actual = Snapshot();
        var problems = new List<string>();
        foreach (var name in expected.Keys.Except(actual.Keys))
        {
            problems.Add($"missing {name}");
        }

        foreach (var name in actual.Keys.Except(expected.Keys))
        {
            problems.Add($"unexpected {name}");
        }

        foreach (var name in expected.Keys.Intersect(actual.Keys))
        {
            if (!Comparable(name, expected[name]).AsSpan().SequenceEqual(Comparable(name, actual[name])))
            {
                problems.Add($"different bytes in {name}");
            }
        }

        Assert.True(problems.Count == 0, $"{context}: {string.Join("; ", problems)}");
    }

    /// <summary>Writes an older version of every output, as a previous run would have left it.</summary>
    internal void WritePreviousOutputs()
    {
        foreach (var name in OutputNames)
        {
            Dir.Write(name, Encoding.UTF8.GetBytes($"previous {name}\n"));
        }
    }

    /// <summary>An output's bytes, with the report's timing members (which differ run to run) blanked.</summary>
    internal static byte[] Comparable(string name, byte[] bytes) =>
        name.EndsWith("report.json", StringComparison.Ordinal)
            ? Encoding.UTF8.GetBytes(TimingMembers().Replace(Encoding.UTF8.GetString(bytes), "\"$1\":0"))
            : bytes;

    public void Dispose() => Dir.Dispose();

    private static string Lines(string file, string newline, bool finalNewline)
    {
        var text = new StringBuilder();
        var lines = new List<string>();
        for (var rep = 0; rep < Repetitions; rep++)
        {
            foreach (var line in HandMadeCorpus.RecordLines)
            {
                lines.Add(RecordId().Replace(line, m => $"\"id\":\"{file}{rep}-{m.Groups[1].Value}\""));
            }
        }

        text.AppendJoin(newline, lines);
        if (finalNewline)
        {
            text.Append(newline);
        }

        return text.ToString();
    }

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }

    [GeneratedRegex("\"id\":\"(r\\d+)\"")]
    private static partial Regex RecordId();

    [GeneratedRegex("\"(started_at|elapsed_seconds|records_per_second)\":\\s*(\"[^\"]*\"|[0-9.eE+-]+)")]
    private static partial Regex TimingMembers();
}
