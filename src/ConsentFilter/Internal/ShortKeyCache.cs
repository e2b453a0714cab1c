using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace ConsentFilter.Internal;

/// <summary>
/// A direct-mapped cache from byte strings of up to <see cref="MaxKeyLength"/> bytes to values: 32 slots, each key
/// packed into one zero-padded word and compared with its length, so a hit is exact (a NUL byte in a key cannot pass
/// for padding). For the handful of distinct region codes a run's records repeat; not thread-safe.
/// </summary>
internal sealed class ShortKeyCache<T>
    where T : class
{
    internal const int MaxKeyLength = sizeof(ulong);

    private const int SlotBits = 5;

    private readonly Slot[] _slots = new Slot[1 << SlotBits];

    /// <summary>The value stored for <paramref name="key"/>; false for a key not stored or longer than <see cref="MaxKeyLength"/>.</summary>
    internal bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out T? value)
    {
        value = null;
        if (key.Length > MaxKeyLength)
        {
            return false;
        }

        var packed = Pack(key);
        ref var slot = ref _slots[SlotOf(packed)];
        if (slot.Value is not null && slot.Key == packed && slot.Length == key.Length)
        {
            value = slot.Value;
            return true;
        }

        return false;
    }

    /// <summary>Stores <paramref name="value"/> for <paramref name="key"/>, replacing whatever held its slot; a longer key is not stored.</summary>
    internal void Set(ReadOnlySpan<byte> key, T value)
    {
        if (key.Length <= MaxKeyLength)
        {
            var packed = Pack(key);
            _slots[SlotOf(packed)] = new Slot(packed, key.Length, value);
        }
    }

    private static ulong Pack(ReadOnlySpan<byte> key)
    {
        var packed = 0UL;
        key.CopyTo(MemoryMarshal.AsBytes(new Span<ulong>(ref packed)));
        return packed;
    }

    private static int SlotOf(ulong packed) => (int)((packed * 0x9E3779B97F4A7C15UL) >> (64 - SlotBits));

    private readonly record struct Slot(ulong Key, int Length, T? Value);
}
