using System.Buffers.Binary;

namespace ConsentFilter.Internal;

/// <summary>A set of 64-bit hashes: open addressing with linear probing, 8 bytes per slot at load ≤ 1/2.</summary>
/// <remarks>
/// Several times faster and smaller than <see cref="HashSet{T}"/> for the manifest's summary, which adds a hash per
/// subject of every record on the writer thread. The values are already uniform hashes, so the slot is their low bits.
/// Zero marks an empty slot, so the value 0 is stored as 1 (a hash collision of 2^-64, harmless for a summary).
/// </remarks>
internal sealed class UInt64Set
{
    private ulong[] _slots;
    private int _mask;
    private bool _taken;

    /// <param name="capacity">Values to make room for at once (rounded up); growing later doubles and rehashes.</param>
    internal UInt64Set(int capacity = 0)
    {
        var slots = (int)Math.Max(1024, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(capacity, 0, 1 << 29) * 2));
        _slots = new ulong[slots];
        _mask = slots - 1;
    }

    internal int Count { get; private set; }

    internal void Add(ulong value)
    {
        ThrowIfTaken();
        if (value == 0)
        {
            value = 1;
        }

        if ((Count + 1) * 2 > _slots.Length)
        {
            Grow();
        }

        var i = (int)value & _mask;
        while (true)
        {
            var slot = _slots[i];
            if (slot == value)
            {
                return;
            }

            if (slot == 0)
            {
                _slots[i] = value;
                Count++;
                return;
            }

            i = (i + 1) & _mask;
        }
    }

    /// <summary>Empties the set and gives back its memory.</summary>
    internal void Clear()
    {
        ThrowIfTaken();
        _slots = new ulong[1024];
        _mask = 1023;
        Count = 0;
    }

    internal void AddRange(List<ulong> values)
    {
        foreach (var value in values)
        {
            Add(value);
        }
    }

    internal bool Contains(ulong value)
    {
        ThrowIfTaken();
        if (value == 0)
        {
            value = 1;
        }

        var i = (int)value & _mask;
        while (true)
        {
            var slot = _slots[i];
            if (slot == value)
            {
                return true;
            }

            if (slot == 0)
            {
                return false;
            }

            i = (i + 1) & _mask;
        }
    }

    /// <summary>The values, sorted.</summary>
    internal ulong[] ToSortedArray()
    {
        ThrowIfTaken();
        var values = new ulong[Count];
        var n = 0;
        foreach (var slot in _slots)
        {
            if (slot != 0)
            {
                values[n++] = slot;
            }
        }

        return RadixSort(values);
    }

    /// <summary>The values sorted ascending, each stored big-endian, in the set's own memory, which the set gives up.</summary>
    /// <remarks>
    /// For the manifest, at the end of a run: the slot array holds at least twice <see cref="Count"/> slots (load ≤ 1/2),
    /// so the values are moved to its front and radix-sorted with its back half as scratch, then byte-swapped in place
    /// — no new array, so none of the page faults a fresh multi-megabyte array costs. Afterwards every use of the set
    /// throws: an emptied set must never pass for an empty summary (that would tell a purge no user is affected).
    /// </remarks>
    internal PackedHashes TakeSortedBigEndian()
    {
        ThrowIfTaken();
        _taken = true;
        var slots = _slots;
        var n = 0;
        for (var i = 0; i < slots.Length; i++)
        {
            if (slots[i] != 0)
            {
                slots[n++] = slots[i];
            }
        }

        RadixSort(slots.AsSpan(0, n), slots.AsSpan(n, n));
        if (BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(slots.AsSpan(0, n), slots.AsSpan(0, n));
        }

        return new PackedHashes(slots, n);
    }

    /// <summary>Sorts ascending: least-significant-digit radix sort, 8 passes of one byte.</summary>
    /// <remarks>
    /// The manifest sorts its summary after the pipeline, on the run's critical path; the native build's
    /// <see cref="Array.Sort{T}(T[])"/> of <see cref="ulong"/> goes through a comparer (~2 % of a 1M-record run's CPU),
    /// while 8 linear passes over uniform hashes take a fraction of that.
    /// </remarks>
    internal static ulong[] RadixSort(ulong[] values)
    {
        RadixSort(values, values.Length < 256 ? [] : new ulong[values.Length]);
        return values;
    }

    /// <summary>Sorts <paramref name="values"/> ascending in place, using <paramref name="scratch"/> (as long, unless under 256 values).</summary>
    private static void RadixSort(Span<ulong> values, Span<ulong> scratch)
    {
        if (values.Length < 256)
        {
            values.Sort();
            return;
        }

        var source = values;
        var target = scratch[..values.Length];
        Span<int> counts = stackalloc int[256];
        for (var shift = 0; shift < 64; shift += 8)
        {
            counts.Clear();
            foreach (var value in source)
            {
                counts[(int)(value >> shift) & 0xFF]++;
            }

            var offset = 0;
            for (var digit = 0; digit < 256; digit++)
            {
                var count = counts[digit];
                counts[digit] = offset;
                offset += count;
            }

            foreach (var value in source)
            {
                target[counts[(int)(value >> shift) & 0xFF]++] = value;
            }

            var swap = source;
            source = target;
            target = swap;
        }

        // An even number of passes: the sorted values are back in the caller's span.
    }

    private void ThrowIfTaken()
    {
        if (_taken)
        {
            throw new InvalidOperationException("internal error: a summary set was used after its values were taken");
        }
    }

    private void Grow()
    {
        var old = _slots;
        _slots = new ulong[old.Length * 2];
        _mask = _slots.Length - 1;
        Count = 0;
        foreach (var slot in old)
        {
            if (slot != 0)
            {
                Add(slot);
            }
        }
    }
}
