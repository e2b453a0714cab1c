namespace ConsentFilter.Internal;

/// <summary>A cryptographic digest of a byte stream that its producer (the pipeline's reader for an input, its writer
/// for the output) feeds as the bytes pass; one producer at a time.</summary>
/// <remarks>
/// Fail-closed, whatever the placement: a hashing failure reaches the producer's next append or
/// <see cref="CompleteAsync"/>, and a digest that was disposed or cancelled before completing never yields a value.
/// </remarks>
internal abstract class StreamDigest : IDisposable
{
    /// <summary>Up to this many processors the digest is computed on the producer's thread (<see cref="InlineDigest"/>),
    /// beyond it on a task of its own (<see cref="BackgroundDigest"/>).</summary>
    /// <remarks>
    /// Measured on 2 cores (docs/performance.md, "Digest placement"): when every core is busy with the pipeline, a
    /// background hash costs CPU the pipeline needs — a copy of every byte, and a hash of bytes that are no longer in
    /// the producer's cache — so hashing in place is cheaper (−0.15 CPU s of 2.8 on the realistic corpus). With more
    /// cores the serial reader and writer would become the bottleneck at a hash's ~3.5 GB/s, and spare cores make the
    /// background hash free. Four is the estimate where the reader's ~2.3 GB/s with the hash still outruns the workers.
    /// </remarks>
    internal const int InlineUpToProcessors = 4;

    internal abstract DigestAlgorithm Algorithm { get; }

    /// <summary>Pins the placement for runs on this async flow (true: in place) — tests run whole filters both ways,
    /// whatever the machine's core count; null: by core count.</summary>
    internal static readonly AsyncLocal<bool?> InlineOverride = new();

    /// <summary>The placement this machine gets.</summary>
    internal static StreamDigest Create(DigestAlgorithm algorithm) =>
        InlineOverride.Value ?? Environment.ProcessorCount <= InlineUpToProcessors ? new InlineDigest(algorithm) : new BackgroundDigest(algorithm);

    /// <summary>Adds bytes.</summary>
    internal abstract void Append(ReadOnlySpan<byte> data);

    /// <summary>Adds bytes; may wait for the digest to catch up (backpressure).</summary>
    internal abstract ValueTask AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Waits for the digest of every byte appended.</summary>
    /// <returns>The digest as lowercase hex.</returns>
    internal abstract Task<string> CompleteAsync(CancellationToken cancellationToken);

    public abstract void Dispose();
}
