using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>Counts of what happened to records; batches count on their own and the writer merges in order.</summary>
public sealed class RunCounts
{
    private readonly long[] _dropped = new long[Enum.GetValues<DropReason>().Length];
    private readonly long[] _quarantined = new long[Enum.GetValues<MalformedKind>().Length];
    private readonly Dictionary<string, RegionCounts> _byRegion = new(StringComparer.Ordinal);

    // The counts of the last few region codes, by the code's identity: a record's code is the jurisdiction table's own
    // string, so most records find theirs here without hashing into the dictionary (a batch counts on one thread).
    private readonly string?[] _recentCodes = new string?[RecentSlots];
    private readonly RegionCounts?[] _recentCounts = new RegionCounts?[RecentSlots];

    /// <summary>Records seen (blank lines are not records).</summary>
    public long Records => Kept + DroppedTotal + QuarantinedTotal;

    /// <summary>Records written to the output.</summary>
    public long Kept { get; private set; }

    /// <summary>Records dropped by a decision.</summary>
    public long DroppedTotal { get; private set; }

    /// <summary>Lines quarantined as malformed.</summary>
    public long QuarantinedTotal { get; private set; }

    /// <summary>Whitespace-only lines skipped (not records).</summary>
    public long BlankLines { get; private set; }

    /// <summary>Bytes of input read.</summary>
    public long Bytes { get; internal set; }

    /// <summary>Drops for one reason.</summary>
    public long Dropped(DropReason reason) => _dropped[(int)reason];

    /// <summary>Quarantined lines for one error.</summary>
    public long Quarantined(MalformedKind kind) => _quarantined[(int)kind];

    /// <summary>Kept and dropped records by the table code that decided their regime.</summary>
    public IReadOnlyDictionary<string, RegionCounts> ByRegion => _byRegion;

    internal void AddKept(string regionCode)
    {
        Kept++;
        Region(regionCode).Kept++;
    }

    internal void AddDropped(DropReason reason, string regionCode)
    {
        DroppedTotal++;
        _dropped[(int)reason]++;
        Region(regionCode).Dropped++;
    }

    internal void AddQuarantined(MalformedKind kind)
    {
        QuarantinedTotal++;
        _quarantined[(int)kind]++;
    }

    internal void AddBlank() => BlankLines++;

    internal void Add(RunCounts other)
    {
        Kept += other.Kept;
        DroppedTotal += other.DroppedTotal;
        QuarantinedTotal += other.QuarantinedTotal;
        BlankLines += other.BlankLines;
        Bytes += other.Bytes;
        for (var i = 0; i < _dropped.Length; i++)
        {
            _dropped[i] += other._dropped[i];
        }

        for (var i = 0; i < _quarantined.Length; i++)
        {
            _quarantined[i] += other._quarantined[i];
        }

        foreach (var (code, counts) in other._byRegion)
        {
            var mine = Region(code);
            mine.Kept += counts.Kept;
            mine.Dropped += counts.Dropped;
        }
    }

    private const int RecentSlots = 16;

    private RegionCounts Region(string code)
    {
        var slot = code.Length == 0 ? 0 : (code.Length + code[0] + (code[^1] * 3)) & (RecentSlots - 1);
        if (ReferenceEquals(_recentCodes[slot], code))
        {
            return _recentCounts[slot]!;
        }

        if (!_byRegion.TryGetValue(code, out var counts))
        {
            counts = new RegionCounts();
            _byRegion.Add(code, counts);
        }

        _recentCodes[slot] = code;
        _recentCounts[slot] = counts;
        return counts;
    }
}

/// <summary>Kept and dropped records for one region code.</summary>
public sealed class RegionCounts
{
    /// <summary>Records kept.</summary>
    public long Kept { get; internal set; }

    /// <summary>Records dropped.</summary>
    public long Dropped { get; internal set; }
}
