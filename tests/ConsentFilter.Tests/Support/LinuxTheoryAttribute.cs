namespace ConsentFilter.Tests.Support;

/// <summary>A theory that needs Linux facilities (named pipes, signals, <c>/proc</c>); skipped elsewhere.</summary>
public sealed class LinuxTheoryAttribute : TheoryAttribute
{
    public LinuxTheoryAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "needs Linux (mkfifo, signals, /proc)";
        }
    }
}
