using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Reliability;

/// <summary>
/// SQLite-style fault injection (FACTS "How trusted systems test"): a clean run counts every file operation, then one
/// run per operation fails exactly that one, and after each the directory must be all or nothing.
/// </summary>
public sealed class FaultInjectionTests
{
    private static readonly FileOperation[] s_faultable =
        [FileOperation.Open, FileOperation.Create, FileOperation.Read, FileOperation.Write, FileOperation.Flush, FileOperation.Rename];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunToFilesAsync_FaultAtEveryFileOperation_FailsWithThatFaultAndLeavesTheDirectoryAsItWas(bool previousOutputs)
    {
        var seed = Seeds.Next();
        using var corpus = new ReliabilityCorpus();
        if (previousOutputs)
        {
            corpus.WritePreviousOutputs();
        }

        var before = corpus.Snapshot();
        using var filter = corpus.Load();

        // Reference: a run on the real file system, without the seam.
        await filter.RunToFilesAsync(corpus.Inputs, corpus.Outputs);
        var committed = corpus.Snapshot();
        corpus.Restore(before);

        // Count: the same run through the seam, failing nothing, must give the same bytes.
        var counting = new FaultInjectingFileSystem();
        filter.FileSystem = counting;
        await filter.RunToFilesAsync(corpus.Inputs, corpus.Outputs);
        corpus.AssertFiles(committed, $"a run through the seam without faults; {Seeds.Replay(seed)}");
        corpus.Restore(before);

        var random = new Random(seed);
        var runs = 0;
        foreach (var kind in s_faultable)
        {
            var count = counting.Count(kind);
            Assert.True(count > 0, $"the clean run performed no {kind}");

            // One past the count: the run must succeed as if nothing were injected.
            for (var n = 1; n <= count + 1; n++)
            {
                var error = (FaultError)random.Next(3);

                // A disk that stays full; renames fail once, since undoing a commit needs renames too.
                var sticky = kind != FileOperation.Rename && random.Next(2) == 0;
                var context = $"{kind} #{n} of {count} failed ({error}{(sticky ? ", sticky" : string.Empty)}), previous outputs {previousOutputs}; {Seeds.Replay(seed)}";
                var faults = new FaultInjectingFileSystem { FailKind = kind, FailAt = n, Error = error, Sticky = sticky, Tag = $", seed {seed}" };
                filter.FileSystem = faults;

                var thrown = await Record.ExceptionAsync(() => filter.RunToFilesAsync(corpus.Inputs, corpus.Outputs));
                runs++;
                if (n <= count)
                {
                    Assert.True(thrown is not null, $"{context}: the run succeeded");
                    AssertIsTheInjectedFault(thrown, faults, context);
                    corpus.AssertFiles(before, context);
                }
                else
                {
                    Assert.True(thrown is null, $"{context}: {thrown}");
                    corpus.AssertFiles(committed, context);
                    corpus.Restore(before);
                }
            }
        }

        Assert.True(runs > 40, $"only {runs} fault points");
    }

    /// <summary>The run's exception is the injected one, or a clear wrapper of it; never an <see cref="AggregateException"/>.</summary>
    internal static void AssertIsTheInjectedFault(Exception thrown, FaultInjectingFileSystem faults, string context)
    {
        Assert.True(faults.Triggered, $"{context}: failed without the fault being injected: {thrown}");
        Assert.False(thrown is AggregateException, $"{context}: an AggregateException reached the caller: {thrown}");
        for (var e = thrown; e is not null; e = e.InnerException)
        {
            if (faults.Injected.Contains(e))
            {
                return;
            }
        }

        Assert.Fail($"{context}: the exception is not the injected fault: {thrown}");
    }
}
