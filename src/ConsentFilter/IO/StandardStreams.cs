namespace ConsentFilter.IO;

/// <summary>The process's standard output as a stream that reports a reader that went away.</summary>
/// <remarks>
/// .NET's console streams ignore <c>EPIPE</c>: a program piped into <c>head</c> writes on and succeeds while its output is
/// lost. This stream fails instead (an <see cref="IOException"/> saying the pipe was closed) when standard output is a
/// pipe or socket; a file the shell redirected to is written through the console stream, at the shared offset.
/// </remarks>
public static class StandardStreams
{
    /// <summary>Opens standard output (unbuffered; the caller buffers).</summary>
    public static Stream OpenOutput() => StandardOutput.Open();
}
