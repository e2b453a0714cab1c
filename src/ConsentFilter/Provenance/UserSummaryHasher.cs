using System.IO.Hashing;

namespace ConsentFilter.Provenance;

/// <summary>Keyed 64-bit hashes of user ids for a manifest's summary of which users an output contains.</summary>
/// <remarks>
/// XxHash3 seeded with a 64-bit key. Whoever holds the key can test whether a known id is in the summary (that is the
/// summary's purpose: deciding, without rereading the data, whether an output needs purging); nobody can list the ids.
/// A false match (about n / 2^64) only makes a purge re-filter an output it did not need to, never keeps a record.
/// </remarks>
internal sealed class UserSummaryHasher(ulong key)
{
    internal ulong Key => key;

    internal ulong Hash(ReadOnlySpan<byte> userId) => XxHash3.HashToUInt64(userId, (long)key);
}
