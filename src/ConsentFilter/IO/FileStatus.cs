using System.Runtime.InteropServices;

namespace ConsentFilter.IO;

/// <summary>What kind of file a path names, after following symbolic links.</summary>
internal enum FileKind
{
    /// <summary>Nothing there (or a dangling link).</summary>
    Missing,

    /// <summary>A regular file.</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A character or block device, a named pipe (FIFO) or a socket: written in place, never replaced.</summary>
    Special,
}

/// <summary>The device, inode and kind of a file, as <c>stat</c> gives them.</summary>
internal readonly partial record struct FileStatus(ulong Device, ulong Inode, FileKind Kind)
{
    private const int AtCurrentDirectory = -100; // AT_FDCWD
    private const int AtEmptyPath = 0x1000; // AT_EMPTY_PATH
    private const uint StatxTypeAndInode = 0x001 | 0x100; // STATX_TYPE | STATX_INO
    private const int StatxSize = 256; // struct statx is the same 256 bytes on every Linux architecture
    private const int ModeOffset = 28;
    private const int InodeOffset = 32;
    private const int DeviceMajorOffset = 136;
    private const int DeviceMinorOffset = 140;
    private const int NoSuchFile = 2; // ENOENT
    private const int NotADirectory = 20; // ENOTDIR

    private static bool s_unavailable = !OperatingSystem.IsLinux();

    /// <summary>The status of <paramref name="path"/>, following links; false when the platform cannot tell (not Linux, no <c>statx</c>, or an error other than "no such file").</summary>
    /// <remarks>
    /// <c>statx</c> is used rather than <c>stat</c> because its layout is fixed by the kernel for every architecture
    /// (glibc's <c>struct stat</c> is not), so the same P/Invoke is right on x64 and arm64, JIT or native AOT.
    /// </remarks>
    internal static bool TryGet(string path, out FileStatus status) => TryGet(AtCurrentDirectory, path, 0, out status);

    /// <summary>The status of an open file descriptor (0 for standard input).</summary>
    internal static bool TryGet(int descriptor, out FileStatus status) => TryGet(descriptor, "", AtEmptyPath, out status);

    private static unsafe bool TryGet(int directory, string path, int flags, out FileStatus status)
    {
        status = default;
        if (s_unavailable)
        {
            return false;
        }

        var buffer = stackalloc byte[StatxSize];
        int result;
        try
        {
            result = NativeMethods.Statx(directory, path, flags, StatxTypeAndInode, buffer);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
            return false;
        }

        if (result != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            if (error is NoSuchFile or NotADirectory)
            {
                status = new FileStatus(0, 0, FileKind.Missing);
                return true;
            }

            return false;
        }

        var mode = *(ushort*)(buffer + ModeOffset) & 0xF000;
        var kind = mode switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            _ => FileKind.Special,
        };
        var device = ((ulong)*(uint*)(buffer + DeviceMajorOffset) << 32) | *(uint*)(buffer + DeviceMinorOffset);
        status = new FileStatus(device, *(ulong*)(buffer + InodeOffset), kind);
        return true;
    }

    /// <summary>
    /// When <paramref name="path"/>'s inode last changed (its ctime: any write, and any change of its times, owner or
    /// links), following links; null when the platform cannot tell (not Linux, no <c>statx</c>) or it is not there.
    /// </summary>
    /// <remarks>
    /// Unlike the modification time, no user call sets it back (<c>touch -d</c>, <c>cp -p</c> and <c>rsync -t</c> move
    /// it forward), so a file whose change time is not after a moment was not rewritten since.
    /// </remarks>
    internal static unsafe DateTime? ChangeTimeUtc(string path)
    {
        const uint StatxChangeTime = 0x080; // STATX_CTIME
        const int ChangeTimeOffset = 96; // stx_ctime: i64 seconds, u32 nanoseconds
        if (s_unavailable)
        {
            return null;
        }

        var buffer = stackalloc byte[StatxSize];
        try
        {
            if (NativeMethods.Statx(AtCurrentDirectory, path, 0, StatxChangeTime, buffer) != 0
                || (*(uint*)buffer & StatxChangeTime) == 0)
            {
                return null;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
            return null;
        }

        var seconds = *(long*)(buffer + ChangeTimeOffset);
        var nanoseconds = *(uint*)(buffer + ChangeTimeOffset + 8);
        return DateTime.UnixEpoch.AddSeconds(seconds).AddTicks(nanoseconds / 100);
    }

    private static unsafe partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static partial int Statx(int directory, string path, int flags, uint mask, byte* buffer);
    }
}
