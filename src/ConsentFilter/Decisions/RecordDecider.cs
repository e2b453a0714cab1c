using System.Buffers;
using System.Text;
using ConsentFilter.Records;

namespace ConsentFilter.Decisions;

/// <summary>Applies <see cref="ConsentPolicy"/> to every subject of a parsed line: author first, then co-subjects in order.</summary>
/// <remarks>One per worker: it owns scratch buffers for decoding escaped ids, so it is not thread-safe.</remarks>
internal sealed class RecordDecider(ConsentPolicy policy)
{
    private byte[] _idScratch = new byte[256];
    private char[] _regionScratch = new char[64];

    internal ConsentPolicy Policy => policy;

    internal RecordVerdict Decide(ReadOnlySpan<byte> line, LineFields fields)
    {
        RegionMatch? recordRegion = fields.Region.IsAbsent ? null : ResolveRegion(line, fields.Region);

        var author = Decide(line, fields.UserId, recordRegion);
        if (!author.IsAllowed)
        {
            return new RecordVerdict(author.Reason, 0, author.Region);
        }

        var subjects = fields.Subjects;
        for (var i = 0; i < subjects.Count; i++)
        {
            var verdict = Decide(line, subjects[i], recordRegion);
            if (!verdict.IsAllowed)
            {
                return new RecordVerdict(verdict.Reason, i + 1, verdict.Region);
            }
        }

        return new RecordVerdict(DropReason.None, 0, author.Region);
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

    private SubjectVerdict Decide(ReadOnlySpan<byte> line, JsonValueRef id, RegionMatch? recordRegion) =>
        policy.Decide(IdBytes(line, id), recordRegion);

    private RegionMatch ResolveRegion(ReadOnlySpan<byte> line, JsonValueRef region)
    {
        // Region escapes are JSON UTF-16 escapes; decode to text (lone surrogates stay as such and match no code).
        var utf8 = IdBytes(line, region);
        var maxChars = Encoding.UTF8.GetMaxCharCount(utf8.Length);
        if (_regionScratch.Length < maxChars * 2)
        {
            _regionScratch = new char[maxChars * 2];
        }

        var chars = DecodeLenient(utf8, _regionScratch.AsSpan(0, maxChars));
        var normalized = _regionScratch.AsSpan(maxChars, maxChars);
        var n = Jurisdictions.RegionCode.Normalize(_regionScratch.AsSpan(0, chars), normalized);
        return policy.ResolveRegion(normalized[..n]);
    }

    private static int DecodeLenient(ReadOnlySpan<byte> utf8, Span<char> destination)
    {
        // Invalid sequences here can only come from escaped lone surrogates; replacing them cannot make a code match
        // that would not otherwise, because table codes are valid text without U+FFFD.
        var status = System.Text.Unicode.Utf8.ToUtf16(utf8, destination, out _, out var written, replaceInvalidSequences: true);
        return status == OperationStatus.Done ? written : 0;
    }

}
