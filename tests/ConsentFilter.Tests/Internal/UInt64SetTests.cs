using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ConsentFilter.Internal;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Internal;

/// <summary>The summary set's counts, membership and sorted output (as an array, and packed big-endian in its own memory) equals the framework's sort of the distinct values.</summary>
public sealed class UInt64SetTests
{
    [Property(MaxTest = 120)]
    public Property ToSortedArray_EqualsDistinctFrameworkSort() => Prop.ForAll(
        (from count in Gen.OneOf(Gen.Choose(0, 300), Gen.Choose(0, 20_000), Gen.Choose(60_000, 400_000))
         from seed in Gen.Choose(0, int.MaxValue)
         from narrow in Gen.Elements(false, true)
         select (count, seed, narrow)).ToArbitrary(),
        t =>
        {
            var random = new Random(t.seed);
            var set = new UInt64Set();
            var expected = new HashSet<ulong>();
            for (var i = 0; i < t.count; i++)
            {
                // Narrow values repeat and share high bytes: duplicates and equal digits in most passes.
                var value = t.narrow ? (ulong)random.Next(0, 5000) << 20 : (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40);
                set.Add(value);
                expected.Add(value == 0 ? 1 : value);

                // Count and Contains merge what is pending: sample them mid-way so merges happen at odd points too.
                if (random.Next(0, 5000) == 0 && (set.Count != expected.Count || !set.Contains(value) || set.UpperBound < set.Count))
                {
                    return false;
                }
            }

            var sorted = expected.ToArray();
            Array.Sort(sorted);
            var packed = sorted.Select(v => BinaryPrimitives.ReverseEndianness(v)).ToArray();
            return set.ToSortedArray().SequenceEqual(sorted)
                && set.TakeSortedBigEndian().Bytes.SequenceEqual(MemoryMarshal.AsBytes(packed.AsSpan()))
                && Assert.Throws<InvalidOperationException>(() => set.Add(1)) is not null;
        });
}
