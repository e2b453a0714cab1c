using Microsoft.Extensions.Logging;

namespace ConsentFilter.Pipeline;

/// <summary>Log messages of a run: counts and error types only, never record content or raw ids.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Filter run started: {Inputs} input(s), purpose {Purpose}, snapshot of {Users} users")]
    internal static partial void RunStarted(ILogger logger, int inputs, string purpose, long users);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Filter run finished: {Records} records, {Kept} kept, {Dropped} dropped, {Quarantined} quarantined in {Seconds:F2} s")]
    internal static partial void RunFinished(ILogger logger, long records, long kept, long dropped, long quarantined, double seconds);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Filter run failed ({ErrorType}): {Message}; nothing is committed")]
    internal static partial void RunFailed(ILogger logger, string errorType, string message);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Filter run cancelled; nothing is committed")]
    internal static partial void RunCancelled(ILogger logger);
}
