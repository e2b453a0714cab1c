using System.Diagnostics;
using System.Text;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>
/// Real SIGTERM, SIGHUP and SIGINT sent to the real CLI: it stops, deletes its temporary files, says so in one line and
/// exits 128 + the signal; no output is committed and an older output stays.
/// </summary>
public sealed class SignalTests : IDisposable
{
    private static readonly byte[] s_block = Encoding.UTF8.GetBytes(
        string.Concat(Enumerable.Repeat("{\"id\":\"r1\",\"user_id\":\"alice\",\"text\":\"streamed slowly\"}\n", 200)));

    private readonly TempDirectory _dir = new();

    public SignalTests()
    {
        HandMadeCorpus.WriteTo(_dir);
        _dir.Write("kept.jsonl", "an older output\n");
        Fifo.Make(_dir.File("records.fifo"));
    }

    public void Dispose() => _dir.Dispose();

    [LinuxTheory]
    [InlineData("TERM", 143)]
    [InlineData("HUP", 129)]
    [InlineData("INT", 130)]
    public async Task Filter_SignalMidRunWhileReadingSlowly_ExitsWithTheSignalsCodeAndLeavesNothing(string signal, int expected)
    {
        var before = _dir.FileNames();
        using var cli = RunningCli.Start(_dir.Path, Args());
        using var stop = new CancellationTokenSource();
        long fed = 0;
        var feeder = Task.Run(async () =>
        {
            // Opening a FIFO for writing waits for the filter to open it for reading.
            await using var pipe = new FileStream(_dir.File("records.fifo"), FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await pipe.WriteAsync(s_block);
                    await pipe.FlushAsync();
                    Interlocked.Add(ref fed, s_block.Length);
                    await Task.Delay(10);
                }
            }
            catch (IOException)
            {
                // The filter closed its end: it has stopped reading.
            }
        });

        await RunningCli.UntilAsync(() => Interlocked.Read(ref fed) > 256 * 1024 && Temporaries().Length > 0, "the run is well under way");
        await cli.SignalAsync(signal);
        var clock = Stopwatch.StartNew();
        var result = await cli.WaitAsync();
        await stop.CancelAsync();
        await feeder.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == expected, result.ToString());
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains($"stopped by SIG{signal}", line, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        Assert.Equal(before, _dir.FileNames());
        Assert.Equal("an older output\n", File.ReadAllText(_dir.File("kept.jsonl")));
    }

    [LinuxFact]
    public async Task Filter_SigtermBeforeAnyRecordIsRead_ExitsWith143AfterTheGraceAndLeavesNothing()
    {
        // No one ever writes the FIFO: the filter waits in open(2), which cancellation cannot interrupt.
        var before = _dir.FileNames();
        using var cli = RunningCli.Start(_dir.Path, Args());
        await RunningCli.UntilAsync(() => Temporaries().Length > 0, "the temporary outputs exist");

        await cli.SignalAsync("TERM");
        var result = await cli.WaitAsync();

        Assert.True(result.ExitCode == 143, result.ToString());
        Assert.Contains("stopped by SIGTERM", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.Equal(before, _dir.FileNames());
        Assert.Equal("an older output\n", File.ReadAllText(_dir.File("kept.jsonl")));
    }

    [LinuxFact]
    public async Task Filter_SigtermWhileLoadingTheSnapshot_ExitsWith143AndLeavesNothing()
    {
        // The consent file is a FIFO too: the signal arrives before any output exists.
        File.Delete(_dir.File("records.fifo"));
        File.Move(_dir.File(HandMadeCorpus.ConsentFile), _dir.File("consent.data"));
        Fifo.Make(_dir.File(HandMadeCorpus.ConsentFile));
        var before = _dir.FileNames();
        using var cli = RunningCli.Start(_dir.Path, [.. Args()[..2], HandMadeCorpus.RecordsFile, .. Args()[3..]]);
        await Task.Delay(TimeSpan.FromSeconds(2));

        await cli.SignalAsync("TERM");
        var result = await cli.WaitAsync();

        Assert.True(result.ExitCode == 143, result.ToString());
        Assert.Equal(before, _dir.FileNames());
    }

    private static string[] Args() =>
    [
        "filter", "--records", "records.fifo", "--consent", HandMadeCorpus.ConsentFile, "--jurisdictions", HandMadeCorpus.JurisdictionsFile,
        "--out", "kept.jsonl", "--rejected", "rejected.jsonl", "--report", "report.json",
    ];

    private string[] Temporaries() => [.. _dir.FileNames().Where(n => n.EndsWith(".tmp", StringComparison.Ordinal))];
}
