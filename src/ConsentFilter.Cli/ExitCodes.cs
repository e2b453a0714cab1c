namespace ConsentFilter.Cli;

/// <summary>Process exit codes (SPEC 5).</summary>
internal static class ExitCodes
{
    /// <summary>The run succeeded and its outputs are committed.</summary>
    public const int Success = 0;

    /// <summary>The run failed while processing; nothing was committed.</summary>
    public const int RuntimeFailure = 1;

    /// <summary>A bad flag, or an unreadable or invalid consent file, jurisdiction table or option.</summary>
    public const int UsageError = 2;
}
