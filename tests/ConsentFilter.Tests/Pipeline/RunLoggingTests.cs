using ConsentFilter.Pipeline;
using ConsentFilter.Tests.EndToEnd;
using ConsentFilter.Tests.Support;
using Microsoft.Extensions.Logging;

namespace ConsentFilter.Tests.Pipeline;

/// <summary>A cancelled run is something asked for: logged as a warning, not as an error.</summary>
public sealed class RunLoggingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public RunLoggingTests() => HandMadeCorpus.WriteTo(_dir);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task RunToFilesAsync_Cancelled_LogsAWarningAndNoError()
    {
        using var filter = RecordFilter.Load(_dir.File(HandMadeCorpus.ConsentFile), _dir.File(HandMadeCorpus.JurisdictionsFile), new ConsentFilterOptions());
        var logger = new ListLogger();
        filter.Logger = logger;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            filter.RunToFilesAsync([_dir.File(HandMadeCorpus.RecordsFile)], new FilterFileOutputs(_dir.File("kept.jsonl")), new CancellationToken(canceled: true)));

        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("cancelled", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Error);
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception)));
    }
}
