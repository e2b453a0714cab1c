using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace ConsentFilter.IO;

/// <summary>Outputs that cannot be replaced by a rename: devices, named pipes (FIFOs), sockets, and this process's own descriptors.</summary>
/// <remarks>
/// Writing such a target through a temporary file fails for a normal user (no write access to <c>/dev</c>) and, for
/// root, replaces the device or FIFO with a regular file. They are opened for writing instead, in place.
/// </remarks>
internal static class SpecialFiles
{
    /// <summary>The target opened for writing (unbuffered) when it is special; null for a regular file or a new path.</summary>
    internal static Stream? OpenForWriting(string full)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        if (DescriptorOf(full) is { } descriptor)
        {
            // /dev/stderr and the like mean this process's descriptor, whatever it is (a terminal, a pipe or a file the
            // shell redirected): written at its current offset, never reopened from the start or replaced. Standard
            // output and error go through StandardOutput, so a reader that went away fails the run (the console
            // streams ignore EPIPE: /dev/stdout piped into `head` would otherwise report success for lost records).
            return descriptor switch
            {
                1 => StandardOutput.Open(),
                2 => StandardOutput.Open(StandardOutput.ErrorDescriptor),
                _ => new FileStream(new SafeFileHandle(descriptor, ownsHandle: false), FileAccess.Write, bufferSize: 0),
            };
        }

        if (!IsSpecial(full))
        {
            return null;
        }

        // No truncation, no lock; opening a FIFO waits for its reader, as any writer of a FIFO does.
        return new FileStream(full, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
    }

    /// <summary>Whether an output at <paramref name="path"/> is written in place (a device, FIFO, socket or own descriptor), not replaced by a rename.</summary>
    internal static bool WrittenInPlace(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        var full = Path.GetFullPath(path);
        return DescriptorOf(full) is not null || IsSpecial(full);
    }

    /// <summary>Whether <paramref name="full"/> is, or links to, a device, FIFO or socket.</summary>
    internal static bool IsSpecial(string full)
    {
        if (FileStatus.TryGet(full, out var status))
        {
            return status.Kind == FileKind.Special;
        }

        // Without statx (not Linux): what lives under /dev is special.
        string target;
        try
        {
            target = File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            target = full;
        }

        return target.StartsWith("/dev/", StringComparison.Ordinal) && File.Exists(target);
    }

    /// <summary>The descriptor named by <c>/dev/stdout</c>, <c>/dev/stderr</c>, <c>/dev/fd/N</c> or <c>/proc/self/fd/N</c>; null otherwise.</summary>
    internal static int? DescriptorOf(string full)
    {
        switch (full)
        {
            case "/dev/stdout":
                return 1;
            case "/dev/stderr":
                return 2;
        }

        foreach (var prefix in (ReadOnlySpan<string>)["/dev/fd/", "/proc/self/fd/"])
        {
            if (full.StartsWith(prefix, StringComparison.Ordinal)
                && int.TryParse(full.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var descriptor))
            {
                return descriptor;
            }
        }

        return null;
    }
}
