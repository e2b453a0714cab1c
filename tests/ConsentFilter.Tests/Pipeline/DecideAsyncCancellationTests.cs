using System.Text;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Tabular;

namespace ConsentFilter.Tests.Pipeline;

/// <summary>Issue 12 item 9: once the token is cancelled, <see cref="RecordFilter.DecideAsync"/> yields nothing more, Kept results included.</summary>
public sealed class DecideAsyncCancellationTests
{
    [Theory]
    [InlineData("jsonl")]
    [InlineData("csv")]
    public async Task DecideAsync_CancelledAtTheTenthResult_YieldsNothingAfter(string format)
    {
        var corpus = new TabularCorpus(3000);
        var content = format == "csv" ? corpus.Csv() : corpus.Jsonl();
        var options = new ConsentFilterOptions { RecordFormat = format == "csv" ? RecordFormat.Csv : RecordFormat.JsonLines };
        options.SubjectFields.Add("recipients");
        using var filter = new RecordFilter(TabularCorpus.Policy(), options);
        using var cancel = new CancellationTokenSource();
        var seen = 0;
        var afterCancel = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var result in filter.DecideAsync(RecordInput.FromStream(new MemoryStream(Encoding.UTF8.GetBytes(content)), "records"), cancel.Token))
            {
                if (cancel.IsCancellationRequested)
                {
                    afterCancel++;
                }

                if (++seen == 10)
                {
                    await cancel.CancelAsync();
                }
            }
        });

        Assert.Equal(10, seen);
        Assert.Equal(0, afterCancel);
    }
}
