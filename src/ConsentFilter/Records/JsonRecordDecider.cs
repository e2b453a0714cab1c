using System.Buffers;
using System.Text;
using ConsentFilter.Decisions;

namespace ConsentFilter.Records;

/// <summary>The JSON Lines adapter's side of the decision: hands a parsed line's ids and region to <see cref="RecordDecision"/>.</summary>
/// <remarks>One per worker: it owns scratch buffers for decoding escaped ids, so it is not thread-safe.</remarks>
internal sealed class JsonRecordDecider(ConsentPolicy policy)
{
    private byte[] _idScratch = new byte[256];
    private char[] _regionScratch = new char[64];

    /// <summary>
    /// Resolved regions by their bytes in the line (up to 8 of them): records repeat a handful of regions, and decoding,
    /// normalizing and looking one up again for every record cost ~3 % of a run's CPU (perf). The same bytes always
    /// decode and resolve the same way within a run (the policy is fixed), so a hit is exact.
    /// </summary>
    private readonly Internal.ShortKeyCache<RegionEntry> _regionCache = new();

    private int _normalizedRegionStart;
    private int _normalizedRegionLength;
    private bool _hasRegion;
    private char[]? _cachedSummaryRegion;

    internal ConsentPolicy Policy => policy;

    /// <summary>
    /// The last decided record's region as the manifest summary keys it: empty when the record had none, else <c>=</c>
    /// followed by the trimmed, upper-cased region (so an empty region, which resolves to <c>*</c>, differs from none).
    /// </summary>
    /// <remarks>An escaped lone surrogate reads as U+FFFD here, as it does when the region is resolved, so both agree.</remarks>
    internal ReadOnlySpan<char> SummaryRegion =>
        !_hasRegion ? [] : _cachedSummaryRegion ?? _regionScratch.AsSpan(_normalizedRegionStart - 1, _normalizedRegionLength + 1);

    internal RecordVerdict Decide(ReadOnlySpan<byte> line, LineFields fields)
    {
        _normalizedRegionLength = 0;
        _cachedSummaryRegion = null;
        _hasRegion = !fields.Region.IsAbsent;
        RegionMatch? recordRegion = fields.Region.IsAbsent ? null : ResolveRegionCached(line, fields.Region);

        var subjects = new JsonSubjects(this, line, fields.Subjects);
        return RecordDecision.Decide(policy, IdBytes(line, fields.UserId), recordRegion, ref subjects);
    }

    /// <summary>The exact bytes of a user id value: raw digits for an integer, decoded content for a string.</summary>
    internal ReadOnlySpan<byte> IdBytes(ReadOnlySpan<byte> line, JsonValueRef value)
    {
        var raw = value.Raw(line);
        if (!value.Escaped)
        {
            return raw;
        }

        if (_idScratch.Length < raw.Length)
        {
            _idScratch = new byte[Math.Max(raw.Length, _idScratch.Length * 2)];
        }

        var n = JsonStringDecoder.Decode(raw, _idScratch);
        return _idScratch.AsSpan(0, n);
    }

    private RegionMatch ResolveRegionCached(ReadOnlySpan<byte> line, JsonValueRef region)
    {
        var raw = region.Raw(line);
        if (_regionCache.TryGet(raw, out var entry))
        {
            _cachedSummaryRegion = entry.SummaryRegion;
            return entry.Match;
        }

        var match = ResolveRegion(line, region);
        if (raw.Length <= Internal.ShortKeyCache<RegionEntry>.MaxKeyLength)
        {
            var summary = _regionScratch.AsSpan(_normalizedRegionStart - 1, _normalizedRegionLength + 1).ToArray();
            _regionCache.Set(raw, new RegionEntry(match, summary));
            _cachedSummaryRegion = summary;
        }

        return match;
    }

    private RegionMatch ResolveRegion(ReadOnlySpan<byte> line, JsonValueRef region)
    {
        // Region escapes are JSON UTF-16 escapes; decode to text. A lone surrogate is not text: it is read as U+FFFD,
        // so the characters around it still count (SPEC 2.1: `CN-\ud800` reaches CN).
        var utf8 = IdBytes(line, region);
        var maxChars = Encoding.UTF8.GetMaxCharCount(utf8.Length);
        if (_regionScratch.Length < (maxChars * 2) + 1)
        {
            _regionScratch = new char[(maxChars * 2) + 1];
        }

        var chars = Decode(utf8, _regionScratch.AsSpan(0, maxChars));

        // Layout: [decoded text | '=' | normalized text]; the '=' prefix serves SummaryRegion.
        _regionScratch[maxChars] = '=';
        var normalized = _regionScratch.AsSpan(maxChars + 1, maxChars);
        var n = Jurisdictions.RegionCode.Normalize(_regionScratch.AsSpan(0, chars), normalized);
        _normalizedRegionStart = maxChars + 1;
        _normalizedRegionLength = n;
        return policy.ResolveRegion(normalized[..n]);
    }

    /// <summary>Decodes a region's bytes, each byte of an escaped lone surrogate (generalized UTF-8) read as U+FFFD.</summary>
    private static int Decode(ReadOnlySpan<byte> utf8, Span<char> destination)
    {
        var status = System.Text.Unicode.Utf8.ToUtf16(utf8, destination, out _, out var written, replaceInvalidSequences: true);
        return status == OperationStatus.Done ? written : throw new InvalidOperationException("region scratch too small");
    }

    /// <summary>What a region resolves to, and its <see cref="SummaryRegion"/>.</summary>
    private sealed record RegionEntry(RegionMatch Match, char[] SummaryRegion);

    /// <summary>The co-subjects of a parsed line; each id is decoded when read (into the decider's scratch).</summary>
    private readonly ref struct JsonSubjects(JsonRecordDecider decider, ReadOnlySpan<byte> line, List<JsonValueRef> subjects) : ISubjectIds
    {
        private readonly ReadOnlySpan<byte> _line = line;

        public int Count => subjects.Count;

        public ReadOnlySpan<byte> this[int index] => decider.IdBytes(_line, subjects[index]);
    }
}
