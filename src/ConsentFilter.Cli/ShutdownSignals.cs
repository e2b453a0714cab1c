using System.Runtime.InteropServices;

namespace ConsentFilter.Cli;

/// <summary>
/// SIGINT, SIGTERM, SIGHUP and SIGQUIT cancel the run as Ctrl+C does: it stops, deletes its temporary files, says so in
/// one line and exits with 128 + the signal number (130, 143, 129, 131), the code a shell would show.
/// </summary>
/// <remarks>
/// A run that has not stopped <see cref="Grace"/> after the signal (a read the kernel cannot interrupt, such as a
/// FIFO or a terminal with no writer) or a second signal ends the process at once, after deleting every uncommitted
/// temporary file (<see cref="IO.AtomicFile.AbandonAllUncommitted"/>, which waits for a commit already renaming
/// files). A signal that arrives once the commit has begun lets it finish: the run then exits 0 with its outputs
/// committed.
/// </remarks>
internal sealed class ShutdownSignals : IDisposable
{
    /// <summary>How long a cancelled run may take to stop by itself.</summary>
    internal static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _cancel = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly TextWriter _stderr;
    private Timer? _deadline;
    private int _received;

    private ShutdownSignals(TextWriter stderr)
    {
        _stderr = stderr;
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>The first signal received, or null.</summary>
    public PosixSignal? Received => _received == 0 ? null : (PosixSignal)_received;

    /// <summary>Registers the handlers.</summary>
    public static ShutdownSignals Register(TextWriter stderr)
    {
        var signals = new ShutdownSignals(stderr);
        foreach (var signal in (ReadOnlySpan<PosixSignal>)[PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT])
        {
            try
            {
                signals._registrations.Add(PosixSignalRegistration.Create(signal, signals.Handle));
            }
            catch (PlatformNotSupportedException)
            {
                // Windows has no SIGHUP or SIGTERM of this kind; the others still cancel.
            }
        }

        return signals;
    }

    /// <summary>The name shown on standard error, e.g. <c>SIGTERM</c>.</summary>
    public static string NameOf(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGINT => "SIGINT",
        PosixSignal.SIGTERM => "SIGTERM",
        PosixSignal.SIGHUP => "SIGHUP",
        PosixSignal.SIGQUIT => "SIGQUIT",
        _ => signal.ToString(),
    };

    /// <summary>128 + the signal's number, as a shell reports a process ended by it.</summary>
    public static int ExitCodeOf(PosixSignal signal) => 128 + signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGQUIT => 3,
        PosixSignal.SIGTERM => 15,
        _ => 0,
    };

    /// <summary>The exit code of a run that returned <paramref name="code"/>: the signal's when it was cancelled by one.</summary>
    public int ExitCode(int code) => code != ExitCodes.Success && Received is { } signal ? ExitCodeOf(signal) : code;

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _deadline?.Dispose();
        _cancel.Dispose();
    }

    private void Handle(PosixSignalContext context)
    {
        // Not the default action (ending the process now): the run is cancelled and cleans up.
        context.Cancel = true;
        if (Interlocked.CompareExchange(ref _received, (int)context.Signal, 0) != 0)
        {
            Abandon("a second signal");
            return;
        }

        _deadline = new Timer(_ => Abandon($"the run did not stop within {Grace.TotalSeconds:F0} s"), null, Grace, Timeout.InfiniteTimeSpan);
        _cancel.Cancel();
    }

    private void Abandon(string why)
    {
        var signal = Received ?? PosixSignal.SIGTERM;
        IO.AtomicFile.AbandonAllUncommitted();
        try
        {
            _stderr.WriteLine($"consentfilter: error: stopped by {NameOf(signal)} ({why}); temporary files deleted, nothing was committed");
            _stderr.Flush();
        }
        catch (IOException)
        {
            // Nobody to tell.
        }

        Environment.Exit(ExitCodeOf(signal));
    }
}
