using System.CommandLine;
using System.CommandLine.Help;
using System.Reflection;
using ConsentFilter.Pipeline;
using Microsoft.Extensions.Options;

namespace ConsentFilter.Cli;

/// <summary>The command line: parses arguments, calls the library, maps failures to exit codes and one line on stderr.</summary>
public static class ConsoleApp
{
    /// <summary>Runs the tool with <paramref name="args"/>; returns the exit code.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default) =>
        RunAsync(args, stdout, stderr, cancellationToken, cancelledBy: static () => null);

    /// <summary>Runs the tool; <paramref name="cancelledBy"/> names what cancelled <paramref name="cancellationToken"/> (a signal) for the message.</summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken, Func<string?> cancelledBy)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        // Named after the command users type: RootCommand takes its name from the entry assembly's file
        // (ConsentFilter.Cli.dll, or the test host in process), which the usage lines would then print.
        var root = new Command("consentfilter", "consentfilter: drop user-content records that may not be used for a purpose, fail-closed, with an audit trail.")
        {
            new HelpOption(),
            new VersionOption { Action = new PrintVersion(stdout) },
            FilterCommand.Create(stdout, stderr),
            ExplainCommand.Create(stdout),
            SnapshotCommand.Create(stdout, stderr),
            ReportCommand.Create(stdout, stderr),
            ProvenanceCommands.Verify(stdout, stderr),
            ProvenanceCommands.Purge(stdout, stderr),
            StreamCommand.Create(stdout, stderr),
        };

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            await stderr.WriteLineAsync($"consentfilter: error: {OneLine(parse.Errors[0].Message)}{Suggestions.For(parse)} (see --help)").ConfigureAwait(false);
            return ExitCodes.UsageError;
        }

        try
        {
            // Signals are the caller's (ShutdownSignals): System.CommandLine's own handler would return 143 after two
            // seconds while the run still holds its temporary files.
            return await parse.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var (code, message) = Describe(e, cancellationToken);
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested && cancelledBy() is { } signal)
            {
                message = $"stopped by {signal}; nothing was committed";
            }

            await stderr.WriteLineAsync($"consentfilter: error: {OneLine(message)}").ConfigureAwait(false);
            return code;
        }
    }

    /// <summary>One line for the user and the exit code; never a stack trace.</summary>
    internal static (int Code, string Message) Describe(Exception e, CancellationToken cancellationToken) => e switch
    {
        DataFileException d => (ExitCodes.UsageError, d.Message),
        PathConflictException p => (ExitCodes.UsageError, p.Message),
        OptionsValidationException o => (ExitCodes.UsageError, "invalid options: " + string.Join(" ", o.Failures)),
        UsageException u => (ExitCodes.UsageError, u.Message),
        CommittedButUnreportedException c => (ExitCodes.RuntimeFailure, c.Message),
        OperationCanceledException when cancellationToken.IsCancellationRequested => (ExitCodes.RuntimeFailure, "cancelled; nothing was committed"),
        _ => (ExitCodes.RuntimeFailure, $"{OneLine(e.Message)}; nothing was committed"),
    };

    /// <summary>
    /// Prints what a command did after it committed it (a snapshot built, outputs purged): a standard output that fails
    /// now must not be reported as "nothing was committed".
    /// </summary>
    internal static async Task PrintAfterCommitAsync(TextWriter stdout, string text, string committed, CancellationToken cancellationToken)
    {
        try
        {
            await stdout.WriteLineAsync(text).ConfigureAwait(false);
            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new CommittedButUnreportedException($"{committed}, but what was done could not be printed: {e.Message}", e);
        }
    }

    /// <summary>SPEC 5 allows one line on standard error: parser messages and echoed values (a quoted CSV cell) may hold line breaks.</summary>
    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}

/// <summary><c>--version</c>: the tool's version and how it runs (JIT, or native and its instruction set).</summary>
internal sealed class PrintVersion(TextWriter stdout) : System.CommandLine.Invocation.SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        var version = typeof(PrintVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(PrintVersion).Assembly.GetName().Version?.ToString() ?? "unknown";
        stdout.WriteLine($"{version} ({NativeVariant.Description})");
        return 0;
    }
}

/// <summary>A command-line problem found after parsing (e.g. a records file that does not exist).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A failure after the outputs were committed (printing a sharded run's task report): exit 1, but not "nothing was committed".</summary>
internal sealed class CommittedButUnreportedException(string message, Exception inner) : Exception(message, inner);
