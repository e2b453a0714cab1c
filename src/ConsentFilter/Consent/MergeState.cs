using System.Buffers.Binary;

namespace ConsentFilter.Consent;

/// <summary>
/// What SPEC 2.2's row merge needs to know of one group of a user's rows (the latest dated rows, or the undated rows) to
/// take more rows later: the first row's values, whether any row differed from it, the most restrictive values, the home
/// regions in order of appearance.
/// </summary>
/// <remarks>
/// Groups combine associatively (<see cref="Then"/>): the group of rows <c>a ++ b</c> is <c>Then(group(a), group(b))</c>,
/// which is what lets a delta build apply new rows to a compiled snapshot's stored state instead of its source rows.
/// Values are 16 bits as in an entry's payload: bits 0–13 consent per purpose, bit 14 GPC, bit 15 minor.
/// </remarks>
/// <param name="First">The first row's values.</param>
/// <param name="Merged">The rows' values merged most restrictively.</param>
/// <param name="Regions">The rows' distinct home regions in order of appearance (a <see cref="RegionLists"/> index).</param>
/// <param name="Any">Whether the group holds any row.</param>
/// <param name="Differ">Whether any row's values differ from the first's.</param>
/// <param name="FirstHasRegion">Whether the first row has a region (then it is the first of <paramref name="Regions"/>).</param>
internal readonly record struct RowGroupState(ushort First, ushort Merged, int Regions, bool Any, bool Differ, bool FirstHasRegion)
{
    /// <summary>The group of one row.</summary>
    internal static RowGroupState Row(ushort values, int region, bool hasRegion) => new(values, values, region, true, false, hasRegion);

    /// <summary>The group of <paramref name="a"/>'s rows followed by <paramref name="b"/>'s.</summary>
    /// <remarks>
    /// If <paramref name="b"/>'s rows all equal its first, one of them differs from <paramref name="a"/>'s first exactly when
    /// that first does; if they do not all equal each other, at least one differs from anything.
    /// </remarks>
    internal static RowGroupState Then(in RowGroupState a, in RowGroupState b, RegionLists lists)
    {
        if (!b.Any)
        {
            return a;
        }

        if (!a.Any)
        {
            return b;
        }

        var differ = a.Differ || b.Differ || !SameFirst(a, b, lists);
        return new RowGroupState(a.First, Strictest(a.Merged, b.Merged), lists.Union(a.Regions, b.Regions), true, differ, a.FirstHasRegion);
    }

    /// <summary>Whether the first rows of two groups have equal values (region included).</summary>
    internal static bool SameFirst(in RowGroupState a, in RowGroupState b, RegionLists lists) =>
        a.First == b.First && a.FirstHasRegion == b.FirstHasRegion
        && (!a.FirstHasRegion || string.Equals(lists[a.Regions][0], lists[b.Regions][0], StringComparison.Ordinal));

    /// <summary>Most restrictive per purpose (denied &gt; unset &gt; granted), GPC and minor true win.</summary>
    internal static ushort Strictest(ushort a, ushort b)
    {
        var result = (a | b) & 0xC000;
        for (var shift = 0; shift < 14; shift += 2)
        {
            result |= Math.Max((a >> shift) & 0b11, (b >> shift) & 0b11) << shift;
        }

        return (ushort)result;
    }
}

/// <summary>
/// One user's row-merge state, as a compiled snapshot of format version 2 stores it: the id's 128-bit keyed hash, the
/// latest <c>updated_at</c>, the group of rows with that time and the group of undated rows (SPEC 2.2: those rows count).
/// </summary>
internal struct UserMergeState
{
    /// <summary>Bytes of one stored state.</summary>
    internal const int RecordSize = 40;

    /// <summary><see cref="Latest"/> of a user without dated rows.</summary>
    internal const long NoDatedRows = long.MinValue;

    private const uint RegionsMask = (1u << 24) - 1;

    public ulong High;
    public ulong Low;
    public long Latest;
    public RowGroupState Dated;
    public RowGroupState Undated;

    /// <summary>The most region lists one file's states may reference (24-bit index).</summary>
    internal const int MaxRegionLists = 1 << 24;

    /// <summary>Takes one more row, as the CSV loader's accumulator does: a later time replaces the dated group, an equal one joins it.</summary>
    internal void Add(ushort values, long updatedTicks, int region, bool hasRegion, RegionLists lists)
    {
        var row = RowGroupState.Row(values, region, hasRegion);
        if (updatedTicks == NoDatedRows)
        {
            Undated = RowGroupState.Then(Undated, row, lists);
        }
        else if (!Dated.Any || updatedTicks > Latest)
        {
            (Latest, Dated) = (updatedTicks, row);
        }
        else if (updatedTicks == Latest)
        {
            Dated = RowGroupState.Then(Dated, row, lists);
        }
    }

    /// <summary>The user's consent: the counting rows merged most restrictively; conflicted when they differ (SPEC 2.2).</summary>
    internal readonly (ushort Values, int Regions) Resolve(RegionLists lists, out bool conflicted)
    {
        conflicted = Dated.Differ || Undated.Differ || (Dated.Any && Undated.Any && !RowGroupState.SameFirst(Dated, Undated, lists));
        if (!Undated.Any)
        {
            return (Dated.Merged, Dated.Regions);
        }

        if (!Dated.Any)
        {
            return (Undated.Merged, Undated.Regions);
        }

        return (RowGroupState.Strictest(Dated.Merged, Undated.Merged), lists.Union(Dated.Regions, Undated.Regions));
    }

    /// <summary>Writes the state; <paramref name="number"/> gives a region list's number in the file.</summary>
    internal readonly void Write(Span<byte> destination, Func<int, int> number)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, High);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Low);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], Latest);
        WriteGroup(destination[24..], Dated, number);
        WriteGroup(destination[32..], Undated, number);
    }

    /// <summary>Reads a state written by <see cref="Write"/>; null when its fields are inconsistent (a corrupt file).</summary>
    /// <param name="source">The record.</param>
    /// <param name="lists">Maps a region-list number of the file to its index in the builder's lists (-1 when out of range).</param>
    internal static UserMergeState? Read(ReadOnlySpan<byte> source, Func<int, int> lists)
    {
        var state = new UserMergeState
        {
            High = BinaryPrimitives.ReadUInt64LittleEndian(source),
            Low = BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
            Latest = BinaryPrimitives.ReadInt64LittleEndian(source[16..]),
        };
        if (!ReadGroup(source[24..], lists, out state.Dated) || !ReadGroup(source[32..], lists, out state.Undated)
            || (!state.Dated.Any && !state.Undated.Any) || state.Dated.Any != (state.Latest != NoDatedRows))
        {
            return null;
        }

        return state;
    }

    private static void WriteGroup(Span<byte> destination, in RowGroupState group, Func<int, int> number)
    {
        if (!group.Any)
        {
            destination[..8].Clear();
            return;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(destination, group.First);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], group.Merged);
        var packed = (uint)number(group.Regions) | (1u << 24) | (group.Differ ? 1u << 25 : 0) | (group.FirstHasRegion ? 1u << 26 : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], packed);
    }

    private static bool ReadGroup(ReadOnlySpan<byte> source, Func<int, int> lists, out RowGroupState group)
    {
        var packed = BinaryPrimitives.ReadUInt32LittleEndian(source[4..]);
        if ((packed & (1u << 24)) == 0)
        {
            group = default;
            return BinaryPrimitives.ReadUInt64LittleEndian(source) == 0;
        }

        var regions = lists((int)(packed & RegionsMask));
        var firstHasRegion = (packed & (1u << 26)) != 0;
        group = new RowGroupState(BinaryPrimitives.ReadUInt16LittleEndian(source), BinaryPrimitives.ReadUInt16LittleEndian(source[2..]), regions, true,
            (packed & (1u << 25)) != 0, firstHasRegion);
        return regions >= 0 && (packed >> 27) == 0 && (!firstHasRegion || regions != 0);
    }
}

/// <summary>Interned lists of distinct home regions (index 0 is the empty list): equal lists share one index.</summary>
internal sealed class RegionLists
{
    private readonly List<string[]> _lists = [[]];
    private readonly Dictionary<string[], int> _index = new(CompiledSnapshotBuilder.RegionSetComparer.Instance) { [[]] = 0 };
    private readonly Dictionary<(int, int), int> _unions = [];
    private readonly Dictionary<string, int> _singles = new(StringComparer.Ordinal);

    /// <summary>The list at <paramref name="index"/>.</summary>
    internal string[] this[int index] => _lists[index];

    /// <summary>The index of <paramref name="list"/> (distinct regions), adding it when new.</summary>
    internal int Intern(string[] list)
    {
        if (!_index.TryGetValue(list, out var index))
        {
            index = _lists.Count;
            _lists.Add(list);
            _index.Add(list, index);
        }

        return index;
    }

    /// <summary>The list holding only <paramref name="region"/>; the empty list for none.</summary>
    internal int Single(string? region)
    {
        if (region is null)
        {
            return 0;
        }

        if (!_singles.TryGetValue(region, out var index))
        {
            index = Intern([region]);
            _singles.Add(region, index);
        }

        return index;
    }

    /// <summary><paramref name="a"/>'s regions, then those of <paramref name="b"/> not in <paramref name="a"/> (order kept).</summary>
    internal int Union(int a, int b)
    {
        if (b == 0 || a == b)
        {
            return a;
        }

        if (a == 0)
        {
            return b;
        }

        if (!_unions.TryGetValue((a, b), out var index))
        {
            index = Intern([.. _lists[a].Union(_lists[b], StringComparer.Ordinal)]);
            _unions.Add((a, b), index);
        }

        return index;
    }
}
