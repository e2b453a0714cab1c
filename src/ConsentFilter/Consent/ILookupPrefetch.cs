namespace ConsentFilter.Consent;

/// <summary>
/// Lets a caller warm the memory a later lookup will read, in two stages issued a few records ahead of the decision.
/// </summary>
/// <remarks>
/// Only a hint: it never changes what a lookup returns, and a hint for the wrong id costs a wasted cache line.
/// It exists because a lookup in a large snapshot is a chain of cache misses once the streamed corpus has evicted the
/// snapshot; issuing them early overlaps them with parsing the records in between.
/// </remarks>
internal interface ILookupPrefetch
{
    /// <summary>Stage one: hashes the id and prefetches the first place the search will look.</summary>
    LookupHint Begin(ReadOnlySpan<byte> userId);

    /// <summary>Stage two, once stage one's line has arrived: prefetches around the second place the search will look.</summary>
    void Continue(in LookupHint hint);
}

/// <summary>A lookup begun by <see cref="ILookupPrefetch.Begin"/>.</summary>
internal readonly record struct LookupHint(ulong High, long Position, bool IsValid);
