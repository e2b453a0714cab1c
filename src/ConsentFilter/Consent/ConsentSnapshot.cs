namespace ConsentFilter.Consent;

/// <summary>An in-memory consent snapshot keyed by the exact UTF-8 bytes of each user id.</summary>
public sealed class ConsentSnapshot : IConsentSnapshot
{
    private readonly Dictionary<byte[], UserConsent>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    internal ConsentSnapshot(Dictionary<byte[], UserConsent> users, IReadOnlyList<string> purposes, SnapshotInfo info)
    {
        _lookup = users.GetAlternateLookup<ReadOnlySpan<byte>>();
        Purposes = purposes;
        Info = info;
        Users = users;
    }

    /// <inheritdoc />
    public SnapshotInfo Info { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> Purposes { get; }

    /// <summary>Every user by the exact UTF-8 bytes of their id.</summary>
    public IReadOnlyDictionary<byte[], UserConsent> Users { get; }

    /// <inheritdoc />
    public bool TryGetUser(ReadOnlySpan<byte> userId, out UserConsent consent) => _lookup.TryGetValue(userId, out consent);

    /// <summary>Loads a consent CSV for the given purposes (SPEC 2.2).</summary>
    /// <exception cref="DataFileException">The file is unreadable or invalid; the message names file, line and column.</exception>
    public static ConsentSnapshot LoadCsv(string path, IReadOnlyList<string> purposes) => ConsentCsvLoader.LoadFile(path, purposes, null);

    /// <summary>Loads a consent CSV for the given purposes with an explicit as-of time (null: the newest <c>updated_at</c>).</summary>
    /// <exception cref="DataFileException">The file is unreadable or invalid; the message names file, line and column.</exception>
    public static ConsentSnapshot LoadCsv(string path, IReadOnlyList<string> purposes, DateTimeOffset? asOf) =>
        ConsentCsvLoader.LoadFile(path, purposes, asOf);

    /// <summary>Loads a consent CSV from a stream (SPEC 2.2).</summary>
    public static ConsentSnapshot LoadCsv(Stream csv, string displayName, IReadOnlyList<string> purposes) =>
        ConsentCsvLoader.Load(csv, displayName, purposes, null);

    /// <summary>Loads a consent CSV from a stream with an explicit as-of time (null: the newest <c>updated_at</c>).</summary>
    public static ConsentSnapshot LoadCsv(Stream csv, string displayName, IReadOnlyList<string> purposes, DateTimeOffset? asOf) =>
        ConsentCsvLoader.Load(csv, displayName, purposes, asOf);
}
