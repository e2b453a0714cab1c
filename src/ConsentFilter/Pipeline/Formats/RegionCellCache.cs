using System.Runtime.InteropServices;
using System.Text;
using ConsentFilter.Decisions;

namespace ConsentFilter.Pipeline;

/// <summary>
/// Resolves a record's region cell (UTF-8 bytes) against the policy, once per distinct cell: records repeat a handful of
/// regions, in runs (CSV exports sorted by region, columnar row groups) or interleaved. One per worker; not thread-safe.
/// </summary>
/// <remarks>
/// Cells of up to 8 bytes are kept direct-mapped in 32 slots, keyed by their bytes and length (so a hit is exact; the
/// policy is fixed for a run, so the same bytes always resolve the same way); a longer cell is remembered only until a
/// different one comes. Each entry also holds the cell's manifest summary region, made once instead of per record.
/// </remarks>
internal sealed class RegionCellCache(ConsentPolicy policy)
{
    private const int SlotBits = 5;

    private readonly Entry?[] _slots = new Entry?[1 << SlotBits];
    private Entry? _long;

    /// <summary>The region the cell resolves to, and its form in the manifest summary (<see cref="RecordAudit.SummaryRegion"/>).</summary>
    internal RegionMatch Resolve(ReadOnlySpan<byte> bytes, out string summaryRegion)
    {
        Entry entry;
        if (bytes.Length <= sizeof(ulong))
        {
            var key = 0UL;
            bytes.CopyTo(MemoryMarshal.AsBytes(new Span<ulong>(ref key)));
            var slot = (int)((key * 0x9E3779B97F4A7C15UL) >> (64 - SlotBits));
            if (_slots[slot] is not { } cached || cached.Key != key || cached.Bytes.Length != bytes.Length)
            {
                _slots[slot] = cached = Create(bytes, key);
            }

            entry = cached;
        }
        else
        {
            if (_long is not { } last || !bytes.SequenceEqual(last.Bytes))
            {
                _long = last = Create(bytes, 0);
            }

            entry = last;
        }

        summaryRegion = entry.SummaryRegion;
        return entry.Match;
    }

    private Entry Create(ReadOnlySpan<byte> bytes, ulong key)
    {
        var text = Encoding.UTF8.GetString(bytes);
        return new Entry(key, bytes.ToArray(), RecordDecision.ResolveRegion(policy, text)!.Value, RecordAudit.SummaryRegion(text));
    }

    private sealed record Entry(ulong Key, byte[] Bytes, RegionMatch Match, string SummaryRegion);
}
