namespace ConsentFilter.Decisions;

/// <summary>Why a subject (and so its record) was not allowed (SPEC 3).</summary>
public enum DropReason : byte
{
    /// <summary>Allowed: not dropped.</summary>
    None = 0,

    /// <summary>The user is not in the snapshot.</summary>
    UnknownUser,

    /// <summary>The user is a minor.</summary>
    Minor,

    /// <summary>A region that applies is excluded.</summary>
    RegionExcluded,

    /// <summary>The user denied the purpose.</summary>
    OptedOut,

    /// <summary>An opt-in regime applies and the user did not grant the purpose.</summary>
    NoOptIn,

    /// <summary>An opt-out regime applies, the user made no choice and sent a Global Privacy Control signal.</summary>
    GpcOptOut,
}

/// <summary>Report spellings of <see cref="DropReason"/>.</summary>
public static class DropReasonNames
{
    /// <summary>Every reason except <see cref="DropReason.None"/>, in decision order.</summary>
    public static IReadOnlyList<DropReason> All { get; } =
        [DropReason.UnknownUser, DropReason.Minor, DropReason.RegionExcluded, DropReason.OptedOut, DropReason.NoOptIn, DropReason.GpcOptOut];

    /// <summary>The report key, e.g. <c>opted_out</c>.</summary>
    public static string ToName(this DropReason reason) => reason switch
    {
        DropReason.None => "allowed",
        DropReason.UnknownUser => "unknown_user",
        DropReason.Minor => "minor",
        DropReason.RegionExcluded => "region_excluded",
        DropReason.OptedOut => "opted_out",
        DropReason.NoOptIn => "no_opt_in",
        DropReason.GpcOptOut => "gpc_opt_out",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}
