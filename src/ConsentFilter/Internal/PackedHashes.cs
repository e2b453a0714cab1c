using System.Runtime.InteropServices;

namespace ConsentFilter.Internal;

/// <summary>Sorted 64-bit hashes stored big-endian: as bytes, the manifest's packed summary.</summary>
/// <param name="Values">The array holding them at its front (the rest is not theirs).</param>
/// <param name="Count">How many there are.</param>
internal readonly record struct PackedHashes(ulong[] Values, int Count)
{
    /// <summary>The hashes as bytes, 8 a hash, most significant byte first.</summary>
    internal ReadOnlySpan<byte> Bytes => MemoryMarshal.AsBytes(Values.AsSpan(0, Count));
}
