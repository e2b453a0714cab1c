using System.Text;
using ConsentFilter.Decisions;

namespace ConsentFilter.Pipeline;

/// <summary>
/// Resolves a record's region cell (UTF-8 bytes) against the policy, once per distinct cell: records repeat a handful of
/// regions, in runs (CSV exports sorted by region, columnar row groups) or interleaved. One per worker; not thread-safe.
/// </summary>
/// <remarks>
/// Cells of up to 8 bytes are kept in a <see cref="Internal.ShortKeyCache{T}"/> (the policy is fixed for a run, so the
/// same bytes always resolve the same way); a longer cell is remembered only until a different one comes. Each entry
/// also holds the cell's manifest summary region, made once instead of per record.
/// </remarks>
internal sealed class RegionCellCache(ConsentPolicy policy)
{
    private readonly Internal.ShortKeyCache<Entry> _short = new();
    private Entry? _long;

    /// <summary>The region the cell resolves to, and its form in the manifest summary (<see cref="RecordAudit.SummaryRegion"/>).</summary>
    internal RegionMatch Resolve(ReadOnlySpan<byte> bytes, out string summaryRegion)
    {
        if (!_short.TryGet(bytes, out var entry))
        {
            if (bytes.Length <= Internal.ShortKeyCache<Entry>.MaxKeyLength)
            {
                entry = Create(bytes);
                _short.Set(bytes, entry);
            }
            else
            {
                if (_long is null || !bytes.SequenceEqual(_long.Bytes))
                {
                    _long = Create(bytes);
                }

                entry = _long;
            }
        }

        summaryRegion = entry.SummaryRegion;
        return entry.Match;
    }

    private Entry Create(ReadOnlySpan<byte> bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        return new Entry(bytes.ToArray(), RecordDecision.ResolveRegion(policy, text)!.Value, RecordAudit.SummaryRegion(text));
    }

    private sealed record Entry(byte[] Bytes, RegionMatch Match, string SummaryRegion);
}
