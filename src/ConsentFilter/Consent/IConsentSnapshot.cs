namespace ConsentFilter.Consent;

/// <summary>Who consented to what and where they live: the table every record is joined against.</summary>
/// <remarks>Implementations are immutable and safe to read from many threads at once.</remarks>
public interface IConsentSnapshot
{
    /// <summary>Facts about the snapshot for the report.</summary>
    SnapshotInfo Info { get; }

    /// <summary>The purposes held, in the order of <see cref="UserConsent.States"/>.</summary>
    IReadOnlyList<string> Purposes { get; }

    /// <summary>Looks a user up by the exact UTF-8 bytes of their id.</summary>
    bool TryGetUser(ReadOnlySpan<byte> userId, out UserConsent consent);
}

/// <summary>Facts about a consent snapshot, as the report shows them.</summary>
/// <param name="Source">The file it was loaded from.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of the source file's bytes.</param>
/// <param name="Users">Distinct users.</param>
/// <param name="Rows">Data rows read.</param>
/// <param name="Conflicts">Users whose counting rows differed and were merged most restrictively.</param>
/// <param name="AsOf">The newest <c>updated_at</c>, or the time given at build; null when no row is dated.</param>
public sealed record SnapshotInfo(string Source, string Sha256, long Users, long Rows, long Conflicts, DateTimeOffset? AsOf)
{
    /// <summary>Whether the snapshot was parsed from CSV or mapped from a compiled file.</summary>
    public SnapshotForm Form { get; init; } = SnapshotForm.Csv;
}

/// <summary>The two forms of one snapshot; both give identical decisions.</summary>
public enum SnapshotForm
{
    /// <summary>Parsed from a consent CSV.</summary>
    Csv,

    /// <summary>Memory-mapped from a compiled binary file.</summary>
    Compiled,
}
