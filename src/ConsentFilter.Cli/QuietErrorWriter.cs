using System.Text;

namespace ConsentFilter.Cli;

/// <summary>Standard error that cannot make the process fail: a write it cannot make is dropped.</summary>
/// <remarks>
/// Standard error is where failures are told. When it is itself unwritable (redirected to <c>/dev/full</c>, closed), an
/// exception from writing the message would escape every handler and abort the process (exit 134) instead of exiting with
/// the code SPEC 5 gives (0, 1 or 2). There is nowhere left to say it, so the line is dropped and the exit code stands.
/// </remarks>
internal sealed class QuietErrorWriter(TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    public override string NewLine
    {
        get => inner.NewLine;
#pragma warning disable CS8765 // TextWriter.NewLine's setter accepts null
        set => inner.NewLine = value;
#pragma warning restore CS8765
    }

    public override void Write(char value) => Quietly(() => inner.Write(value));

    public override void Write(char[] buffer, int index, int count) => Quietly(() => inner.Write(buffer, index, count));

    public override void Write(string? value) => Quietly(() => inner.Write(value));

    public override void WriteLine(string? value) => Quietly(() => inner.WriteLine(value));

    public override void WriteLine() => Quietly(inner.WriteLine);

    public override Task WriteAsync(char value) => QuietlyAsync(() => inner.WriteAsync(value));

    public override Task WriteAsync(string? value) => QuietlyAsync(() => inner.WriteAsync(value));

    public override Task WriteLineAsync(string? value) => QuietlyAsync(() => inner.WriteLineAsync(value));

    public override Task WriteLineAsync() => QuietlyAsync(inner.WriteLineAsync);

    public override void Flush() => Quietly(inner.Flush);

    public override Task FlushAsync() => QuietlyAsync(inner.FlushAsync);

    private static void Quietly(Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
        }
    }

    private static async Task QuietlyAsync(Func<Task> write)
    {
        try
        {
            await write().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
        }
    }
}
