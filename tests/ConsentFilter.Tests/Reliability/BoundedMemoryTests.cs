using System.Diagnostics;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Reliability;

/// <summary>Runs alone, so process-wide memory figures are this test's own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    public const string Name = "Memory measurement";
}

/// <summary>A 1 GB line without a newline costs bounded memory: asserted on allocation and working set, not on time.</summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class BoundedMemoryTests
{
    private const long Gigabyte = 1L << 30;

    /// <summary>Far below the line's size: the default 16 MiB line limit, a few batches and the runtime's own overhead.</summary>
    private const long AllocationBudget = 160L << 20;

    private const long WorkingSetBudget = 256L << 20;

    [Fact]
    public async Task RunAsync_OneGigabyteLine_AllocatesAndHoldsFarLessThanTheLine()
    {
        var input = new GeneratedStream(
            ("{\"user_id\":\"alice\",\"text\":\""u8.ToArray(), 1),
            ("a"u8.ToArray(), Gigabyte),
            ("\"}\n{\"user_id\":\"alice\"}\n"u8.ToArray(), 1));
        var filter = InMemoryRun.Filter(new ConsentFilterOptions { MaxDegreeOfParallelism = 2 });

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var workingSetBefore = process.WorkingSet64;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long peakWorkingSet = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            using var self = Process.GetCurrentProcess();
            while (!stop.IsCancellationRequested)
            {
                self.Refresh();
                peakWorkingSet = Math.Max(peakWorkingSet, self.WorkingSet64);
                await Task.Delay(5, CancellationToken.None);
            }
        });

        var result = await InMemoryRun.RunAsync(filter, RecordInput.FromStream(input, "huge.jsonl"));

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        await stop.CancelAsync();
        await sampler;
        var heldAfter = GC.GetGCMemoryInfo().HeapSizeBytes;

        Assert.Equal(input.Length, input.Delivered);
        Assert.Equal(1, result.Report.Totals.Quarantined(MalformedKind.LineTooLong));
        Assert.Equal(1, result.Report.Totals.Kept);
        Assert.True(allocated < AllocationBudget, $"allocated {allocated >> 20} MiB while reading a 1 GiB line (budget {AllocationBudget >> 20} MiB)");
        Assert.True(peakWorkingSet - workingSetBefore < WorkingSetBudget,
            $"working set grew by {(peakWorkingSet - workingSetBefore) >> 20} MiB (budget {WorkingSetBudget >> 20} MiB); managed heap after: {heldAfter >> 20} MiB");
    }
}
