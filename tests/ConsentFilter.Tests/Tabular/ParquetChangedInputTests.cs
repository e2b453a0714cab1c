using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Tabular;

/// <summary>
/// A Parquet input is hashed for the manifest in one pass and read in another: a file changed in place in between fails
/// the run (an I/O error naming it) instead of leaving a manifest whose digest does not describe what was filtered.
/// </summary>
public sealed class ParquetChangedInputTests
{
    [Fact]
    public async Task FileTouchedWhileRead_FailsTheRun_NamingIt()
    {
        using var dir = new TempDirectory();
        var input = dir.File("records.parquet");
        await new TabularCorpus(3000).WriteParquetAsync(input, rowGroupSize: 10);
        var options = new ConsentFilterOptions { MaxDegreeOfParallelism = 1, ChannelCapacity = 1 };
        options.SubjectFields.Add("recipients");
        using var filter = new RecordFilter(TabularCorpus.Policy(), options);

        var results = 0;
        var error = await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            await foreach (var _ in filter.DecideAsync(RecordInput.FromFile(input)))
            {
                if (++results == 1)
                {
                    // The bounded channel holds the reader far from the file's end: the change lands mid-read.
                    File.SetLastWriteTimeUtc(input, DateTime.UtcNow.AddHours(1));
                }
            }
        });
        // Caught when the reader reaches the file's end: a file run then commits nothing (the error fails it).
        Assert.Contains("records.parquet changed while it was being read", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FileUntouched_ReadsToTheEnd()
    {
        using var dir = new TempDirectory();
        var input = dir.File("records.parquet");
        await new TabularCorpus(300).WriteParquetAsync(input, rowGroupSize: 10);
        using var filter = new RecordFilter(TabularCorpus.Policy(), new ConsentFilterOptions { MaxDegreeOfParallelism = 1, ChannelCapacity = 1 });
        var results = 0;
        await foreach (var _ in filter.DecideAsync(RecordInput.FromFile(input)))
        {
            results++;
        }

        Assert.Equal(300, results);
    }
}
