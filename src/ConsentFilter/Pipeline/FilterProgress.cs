namespace ConsentFilter.Pipeline;

/// <summary>How far a run has got, reported after each written batch (in input order).</summary>
/// <param name="Records">Records written, dropped or quarantined so far.</param>
/// <param name="Kept">Records kept so far.</param>
/// <param name="Dropped">Records dropped so far.</param>
/// <param name="Quarantined">Lines quarantined so far.</param>
/// <param name="BytesRead">Input bytes read so far (after decompression).</param>
/// <param name="Input">Index of the input being read.</param>
public readonly record struct FilterProgress(long Records, long Kept, long Dropped, long Quarantined, long BytesRead, int Input);
