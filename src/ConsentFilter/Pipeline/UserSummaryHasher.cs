using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace ConsentFilter.Pipeline;

/// <summary>Keyed 64-bit hashes of (user id, record region) pairs for a manifest's summary of an output.</summary>
/// <remarks>
/// XxHash3 seeded with a 64-bit key over the id's bytes, a 0xFF separator (never in UTF-8) and the record's normalized
/// region. Whoever holds the key can test whether a known user appears with a known region (the summary's purpose:
/// deciding, without rereading the data, whether an output needs purging); nobody can list the ids. A false match
/// (about n / 2^64) can only make a purge leave an output that it should re-filter if it also hides a change, with
/// probability below 10^-12 for 10^7 users; the summary is a filter for work, the re-filter itself is exact.
/// Not thread-safe: one per worker.
/// </remarks>
internal sealed class UserSummaryHasher(ulong key)
{
    private static readonly byte[] s_separator = [0xFF];
    private readonly XxHash3 _hash = new((long)key);

    internal ulong Key => key;

    internal ulong Hash(ReadOnlySpan<byte> userId, ReadOnlySpan<char> normalizedRegion)
    {
        var region = MemoryMarshal.AsBytes(normalizedRegion);
        var length = userId.Length + 1 + region.Length;
        if (length <= 256)
        {
            // One-shot over a stack copy: the same bytes as the streaming form below, several times faster.
            Span<byte> buffer = stackalloc byte[256];
            userId.CopyTo(buffer);
            buffer[userId.Length] = 0xFF;
            region.CopyTo(buffer[(userId.Length + 1)..]);
            return XxHash3.HashToUInt64(buffer[..length], (long)key);
        }

        _hash.Reset();
        _hash.Append(userId);
        _hash.Append(s_separator);
        _hash.Append(MemoryMarshal.AsBytes(normalizedRegion));
        return _hash.GetCurrentHashAsUInt64();
    }

    internal UserSummaryHasher Clone() => new(key);
}
