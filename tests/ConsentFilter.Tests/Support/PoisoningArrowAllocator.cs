using System.Buffers;
using Apache.Arrow.Memory;

namespace ConsentFilter.Tests.Support;

/// <summary>
/// An Arrow allocator that overwrites memory with 0xCD when it is freed: whatever still reads a freed buffer (a batch
/// released while a later batch shares its dictionary) sees garbage at once instead of the old bytes by luck.
/// </summary>
internal sealed class PoisoningArrowAllocator : MemoryAllocator
{
    private int _poisoned;
    private int _allocated;

    /// <summary>Buffers handed out so far.</summary>
    public int Allocated => Volatile.Read(ref _allocated);

    /// <summary>Buffers freed (and poisoned) so far.</summary>
    public int Poisoned => Volatile.Read(ref _poisoned);

    protected override IMemoryOwner<byte> AllocateInternal(int length, out int bytesAllocated)
    {
        Interlocked.Increment(ref _allocated);
        bytesAllocated = length;
        return new Owner(new byte[length], this);
    }

    private sealed class Owner(byte[] memory, PoisoningArrowAllocator allocator) : IMemoryOwner<byte>
    {
        private int _disposed;

        public Memory<byte> Memory => memory;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                memory.AsSpan().Fill(0xCD);
                Interlocked.Increment(ref allocator._poisoned);
            }
        }
    }
}
