using System.Runtime.InteropServices;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// User + system CPU seconds from <c>getrusage(2)</c>: of this process (in-process runs such as the line copy and
/// DuckDB), or of all waited-for child processes (the CLI runs; take the difference around one run). On a shared
/// machine CPU time is steadier than wall time, because waiting for a core does not count.
/// </summary>
internal static class CpuTime
{
    private const int RusageSelf = 0;
    private const int RusageChildren = -1;

    internal static double Self() => Read(RusageSelf);

    internal static double Children() => Read(RusageChildren);

    private static double Read(int who)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return who == RusageSelf ? Environment.CpuUsage.TotalTime.TotalSeconds : double.NaN;
        }

        return NativeMethods.getrusage(who, out var usage) == 0
            ? usage.UserSeconds + (usage.UserMicroseconds / 1e6) + usage.SystemSeconds + (usage.SystemMicroseconds / 1e6)
            : double.NaN;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Rusage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
        public long MaxRss;
        public long IxRss;
        public long IdRss;
        public long IsRss;
        public long MinorFaults;
        public long MajorFaults;
        public long Swaps;
        public long BlocksIn;
        public long BlocksOut;
        public long MessagesSent;
        public long MessagesReceived;
        public long Signals;
        public long VoluntarySwitches;
        public long InvoluntarySwitches;
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int getrusage(int who, out Rusage usage);
    }
}
