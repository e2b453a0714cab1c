using System.Buffers;
using Apache.Arrow;

namespace ConsentFilter.Parquet;

/// <summary>
/// The memory of one batch's kept rows, rented from the shared array pool and returned when the batch is released
/// (after the sink wrote it): a row group's columns are tens of megabytes, and fresh arrays for each would be zeroed,
/// faulted in page by page and left to the large-object heap. Not thread-safe: one batch, one worker, then the writer.
/// </summary>
internal sealed class TakeBuffers
{
    private readonly List<byte[]> _rented = [];

    /// <summary>
    /// Set when the gathered rows still point into the rows as read: a dictionary column keeps its input's
    /// dictionary, and a column gathered by slices may be a slice of its input. Then the rows as read must live as
    /// long as the kept rows.
    /// </summary>
    internal bool SharesInput { get; set; }

    /// <summary>A buffer of exactly <paramref name="length"/> bytes; zeroed only when asked (validity bitmaps are set bit by bit).</summary>
    internal Memory<byte> Rent(int length, bool clear)
    {
        if (length == 0)
        {
            return Memory<byte>.Empty;
        }

        var array = ArrayPool<byte>.Shared.Rent(length);
        _rented.Add(array);
        var memory = array.AsMemory(0, length);
        if (clear)
        {
            memory.Span.Clear();
        }

        return memory;
    }

    internal static ArrowBuffer Buffer(Memory<byte> memory) => memory.IsEmpty ? ArrowBuffer.Empty : new ArrowBuffer(memory);

    /// <summary>Gives every buffer back; nothing may read the batch's kept rows afterwards.</summary>
    internal void Return()
    {
        foreach (var array in _rented)
        {
            ArrayPool<byte>.Shared.Return(array);
        }

        _rented.Clear();
    }
}
