using System.Text;
using ConsentFilter.Decisions;

namespace ConsentFilter.Pipeline;

/// <summary>
/// Resolves a record's region cell (UTF-8 bytes) against the policy, reusing the last result for a repeated cell:
/// regions repeat row after row in CSV and columnar inputs. One per worker; not thread-safe.
/// </summary>
internal sealed class RegionCellCache(ConsentPolicy policy)
{
    private string? _text;
    private byte[] _bytes = [];
    private RegionMatch _match;

    /// <summary>The region the cell resolves to, and the cell as text (for the manifest summary).</summary>
    internal RegionMatch Resolve(ReadOnlySpan<byte> bytes, out string text)
    {
        if (_text is not null && bytes.SequenceEqual(_bytes))
        {
            text = _text;
            return _match;
        }

        text = Encoding.UTF8.GetString(bytes);
        _match = RecordDecision.ResolveRegion(policy, text)!.Value;
        _text = text;
        _bytes = bytes.ToArray();
        return _match;
    }
}
