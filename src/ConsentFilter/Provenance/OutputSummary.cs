namespace ConsentFilter.Provenance;

/// <summary>What a manifest remembers of an output's records, without their content.</summary>
/// <remarks>
/// <see cref="Kept"/>: a keyed hash of (user, record region) for the author and every co-subject of each kept record.
/// <see cref="Dropped"/>: the same for the failing subject of each dropped record. <see cref="Regions"/>: the distinct
/// record regions (normalized; empty for none). Together they decide whether new consent can change the output.
/// </remarks>
internal sealed class OutputSummary
{
    private readonly HashSet<string> _regions = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    internal OutputSummary() => _lookup = _regions.GetAlternateLookup<ReadOnlySpan<char>>();

    internal Internal.UInt64Set Kept { get; } = new();

    internal Internal.UInt64Set Dropped { get; } = new();

    /// <summary>A batch's hashes before deduplication: appending is cheaper than hashing into a set on every worker.</summary>
    internal List<ulong> KeptPending { get; } = [];

    /// <summary>As <see cref="KeptPending"/>, for dropped records.</summary>
    internal List<ulong> DroppedPending { get; } = [];

    internal IReadOnlySet<string> Regions => _regions;

    internal void AddRegion(ReadOnlySpan<char> region)
    {
        if (!_lookup.Contains(region))
        {
            _lookup.Add(region);
        }
    }

    internal void Add(OutputSummary other)
    {
        Kept.AddRange(other.KeptPending);
        Dropped.AddRange(other.DroppedPending);
        _regions.UnionWith(other._regions);
    }
}
