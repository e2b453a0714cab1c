using System.Globalization;
using System.Text;
using ConsentFilter.Sharding;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Reliability;

/// <summary>
/// Crash and resume: the CLI is killed with SIGKILL at seeded random moments of a one-output-per-file run, then resumed
/// with <c>--resume</c> until it finishes. The outputs must be byte-identical to an uninterrupted run's, with nothing
/// lost, duplicated or left behind.
/// </summary>
public sealed class KillAndResumeTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("cf-kill-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [LinuxFact]
    public async Task KilledRunsResumed_EqualAnUninterruptedRun()
    {
        var seed = Seeds.Next();
        var random = new Random(seed);
        var (inputs, consent) = Corpus();
        var reference = Path.Combine(_temp, "reference");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var done = await CliProcess.RunAsync(_temp, [.. Args(inputs, consent), "--out-dir", reference]);
        var full = clock.Elapsed;
        Assert.True(done.ExitCode == 0, done.ToString());

        var run = Path.Combine(_temp, "run");
        var kills = 0;
        for (var attempt = 0; attempt < 12; attempt++)
        {
            // Somewhere inside an uninterrupted run's duration, so most attempts die mid-work (startup, a file, a commit).
            var delay = full * (attempt == 0 ? 0.3 : 0.05 + (0.6 * random.NextDouble()));
            var code = await CliProcess.RunAndKillAsync(_temp, [.. Args(inputs, consent), "--out-dir", run, "--resume"], delay);
            if (code is null)
            {
                kills++;
                continue;
            }

            Assert.True(code == 0, $"resume exited {code}; {Seeds.Replay(seed)}");
            break;
        }

        Assert.True(kills > 0, $"no attempt was killed; {Seeds.Replay(seed)}");

        // However the kills fell, one more resume finishes the run.
        var last = await CliProcess.RunAsync(_temp, [.. Args(inputs, consent), "--out-dir", run, "--resume"]);
        Assert.True(last.ExitCode == 0, $"{last}; {Seeds.Replay(seed)}");

        foreach (var input in inputs)
        {
            var name = Path.GetFileName(input);
            Assert.True(
                File.ReadAllBytes(Path.Combine(reference, name)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(run, name))),
                $"{name} differs after {kills} kill(s); {Seeds.Replay(seed)}");
            Assert.Equal(File.ReadAllBytes(Path.Combine(reference, "_audit", name + ".rejected.jsonl")), File.ReadAllBytes(Path.Combine(run, "_audit", name + ".rejected.jsonl")));
        }

        var leftovers = Directory.EnumerateFiles(run, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".tmp", StringComparison.Ordinal) || f.EndsWith(".old", StringComparison.Ordinal)).ToList();
        Assert.True(leftovers.Count == 0, $"left behind: {string.Join(", ", leftovers)}; {Seeds.Replay(seed)}");

        var (merged, missing) = ShardedRun.MergeTasks(run);
        var (expected, _) = ShardedRun.MergeTasks(reference);
        Assert.Empty(missing);
        foreach (var key in new[] { "records", "kept" })
        {
            Assert.Equal(expected[key]!.GetValue<long>(), merged[key]!.GetValue<long>());
        }

        Assert.Equal(expected["dropped"]!.ToJsonString(), merged["dropped"]!.ToJsonString());
        Assert.Equal(expected["quarantined"]!.ToJsonString(), merged["quarantined"]!.ToJsonString());
    }

    private static string[] Args(string[] inputs, string consent) =>
        ["filter", "--records", .. inputs, "--consent", consent, "--subject-field", "to", "--threads", "1"];

    private (string[] Inputs, string Consent) Corpus()
    {
        var consent = Path.Combine(_temp, "consent.csv");
        var csv = new StringBuilder("user_id,region,ai_training,gpc\n");
        for (var u = 0; u < 500; u++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"u{u},{(u % 3 == 0 ? "US" : u % 3 == 1 ? "DE" : "CN")},{(u % 4 == 0 ? "denied" : u % 4 == 1 ? "" : "granted")},{u % 5 == 0}\n");
        }

        File.WriteAllText(consent, csv.ToString());
        var directory = Path.Combine(_temp, "in");
        Directory.CreateDirectory(directory);
        var random = new Random(11);
        var inputs = new string[8];
        for (var f = 0; f < inputs.Length; f++)
        {
            var lines = new StringBuilder();
            for (var i = 0; i < 60_000; i++)
            {
                lines.Append(CultureInfo.InvariantCulture,
                    $"{{\"id\":{i},\"user_id\":\"u{random.Next(520)}\",\"to\":[\"u{random.Next(500)}\"],\"text\":\"{new string('x', random.Next(40))}\"}}\n");
            }

            inputs[f] = Path.Combine(directory, $"part{f}.jsonl");
            File.WriteAllText(inputs[f], lines.ToString());
        }

        return (inputs, consent);
    }
}
