using System.Diagnostics;
using System.Globalization;
using ConsentFilter.Pipeline;
using Spectre.Console;

namespace ConsentFilter.Cli;

/// <summary>One self-updating status line on standard error while a run goes: records/s, MB/s, kept/dropped, elapsed, ETA.</summary>
/// <remarks>Used only when standard error is a terminal, so logs and pipes never see it; throttled to four updates a second.</remarks>
internal sealed class TerminalProgress : IProgress<FilterProgress>, IDisposable
{
    private readonly IAnsiConsole _console;
    private readonly long? _totalBytes;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private TimeSpan _last;
    private bool _shown;

    private TerminalProgress(IAnsiConsole console, long? totalBytes)
    {
        _console = console;
        _totalBytes = totalBytes;
    }

    /// <summary>A display on standard error if it is a terminal, otherwise null.</summary>
    public static TerminalProgress? CreateIfTerminal(IReadOnlyList<string> inputs)
    {
        if (Console.IsErrorRedirected)
        {
            return null;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        long? total = inputs.All(i => i != "-" && !i.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) && !i.EndsWith(".zst", StringComparison.OrdinalIgnoreCase))
            ? inputs.Sum(i => new FileInfo(i).Length)
            : null;
        return new TerminalProgress(console, total);
    }

    public void Report(FilterProgress value)
    {
        lock (_gate)
        {
            var now = _clock.Elapsed;
            if (_shown && now - _last < TimeSpan.FromMilliseconds(250))
            {
                return;
            }

            _last = now;
            var seconds = Math.Max(now.TotalSeconds, 1e-3);
            // No ETA once more bytes were read than the files hold: an input compressed under a plain name.
            var eta = _totalBytes is > 0 && value.BytesRead > 0 && value.BytesRead <= _totalBytes
                ? TimeSpan.FromSeconds(seconds * (_totalBytes.Value - value.BytesRead) / value.BytesRead)
                : (TimeSpan?)null;
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{value.Records:N0} rec | {value.Kept:N0} kept | {value.Dropped:N0} dropped | {value.Quarantined:N0} quarantined | " +
                $"{value.Records / seconds:N0} rec/s | {value.BytesRead / 1e6 / seconds:F0} MB/s | {now:hh\\:mm\\:ss}{(eta is { } e ? $" | ETA {e:hh\\:mm\\:ss}" : string.Empty)}");

            // One line, never wrapped: cut to the terminal's width.
            var width = Math.Max(_console.Profile.Width - 1, 10);
            _console.Write(new ControlCode("\r\u001b[2K"));
            _console.Write(new Text(line.Length > width ? line[..width] : line, new Style(Color.Grey)));
            _shown = true;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_shown)
            {
                _console.WriteLine();
            }
        }
    }
}
