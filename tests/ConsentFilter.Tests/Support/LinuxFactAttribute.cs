namespace ConsentFilter.Tests.Support;

/// <summary>A fact that needs Linux facilities (named pipes via <c>mkfifo</c>, <c>/proc</c>); skipped elsewhere.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "needs Linux (mkfifo, /proc)";
        }
    }
}
