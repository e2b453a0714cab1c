using System.Buffers;
using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>A block of whole lines from one input, with what the workers decided for each.</summary>
/// <remarks>
/// The buffer is pooled and returned by <see cref="Release"/> once the writer has copied the kept bytes.
/// Lines are slices of the buffer: nothing is copied between reading and writing.
/// </remarks>
internal sealed class LineBatch
{
    private TaskCompletionSource _processed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal LineBatch(byte[] buffer, int inputIndex, long sequence)
    {
        Buffer = buffer;
        InputIndex = inputIndex;
        Sequence = sequence;
    }

    internal byte[] Buffer { get; private set; }

    internal int InputIndex { get; }

    internal long Sequence { get; }

    internal LineEntry[] Lines { get; private set; } = ArrayPool<LineEntry>.Shared.Rent(1024);

    internal int Count { get; private set; }

    /// <summary>Decisions, one per line, filled by a worker.</summary>
    internal LineOutcome[] Outcomes { get; private set; } = [];

    /// <summary>Rejection-log lines for this batch, in line order (only when a rejection log is written).</summary>
    internal ArrayBufferWriter<byte>? Rejections { get; set; }

    /// <summary>Quarantine lines for this batch, in line order (only when a quarantine file is written).</summary>
    internal ArrayBufferWriter<byte>? Quarantine { get; set; }

    internal RunCounts Counts { get; } = new();

    /// <summary>The manifest's summary of this batch (kept and dropped user/region pairs), when a manifest is written.</summary>
    internal Provenance.OutputSummary? Summary { get; set; }

    /// <summary>Input bytes (after decompression) read to fill this batch.</summary>
    internal long InputBytes { get; set; }

    /// <summary>Bytes of kept lines (each ending in LF) at the front of <see cref="Buffer"/>, after a worker compacted them.</summary>
    internal int KeptLength { get; set; }

    /// <summary>Completes when a worker has decided every line, or faults with the worker's exception.</summary>
    internal Task Processed => _processed.Task;

    internal void Add(in LineEntry entry)
    {
        if (Count == Lines.Length)
        {
            var grown = ArrayPool<LineEntry>.Shared.Rent(Lines.Length * 2);
            Lines.AsSpan(0, Count).CopyTo(grown);
            ArrayPool<LineEntry>.Shared.Return(Lines);
            Lines = grown;
        }

        Lines[Count++] = entry;
    }

    /// <summary>Swaps in a larger buffer (holding the same bytes) while no line has been added yet.</summary>
    internal void ReplaceEmptyBuffer(byte[] larger)
    {
        System.Diagnostics.Debug.Assert(Count == 0, "only an empty batch can change buffers");
        ArrayPool<byte>.Shared.Return(Buffer);
        Buffer = larger;
    }

    internal void PrepareOutcomes() => Outcomes = ArrayPool<LineOutcome>.Shared.Rent(Math.Max(Count, 1));

    internal ReadOnlySpan<byte> Content(in LineEntry entry) => Buffer.AsSpan(entry.Offset, entry.Length);

    internal void MarkProcessed() => _processed.TrySetResult();

    internal void MarkFailed(Exception exception) => _processed.TrySetException(exception);

    internal void Release()
    {
        if (Buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(Buffer);
            Buffer = [];
        }

        if (Lines.Length > 0)
        {
            ArrayPool<LineEntry>.Shared.Return(Lines);
            Lines = [];
        }

        if (Outcomes.Length > 0)
        {
            ArrayPool<LineOutcome>.Shared.Return(Outcomes);
            Outcomes = [];
        }
    }
}

/// <summary>One physical line: where its content (without CR/LF) sits in the batch buffer.</summary>
/// <param name="Offset">Start of the content in the buffer.</param>
/// <param name="Length">Length of the content, without the line ending.</param>
/// <param name="LineNumber">1-based physical line number in its input.</param>
/// <param name="Flags">The too-long marker.</param>
internal readonly record struct LineEntry(int Offset, int Length, long LineNumber, LineFlags Flags);

[Flags]
internal enum LineFlags : byte
{
    None = 0,

    /// <summary>The line exceeded the maximum length; its bytes were skipped, not kept.</summary>
    TooLong = 2,
}

/// <summary>What happened to one line.</summary>
internal readonly record struct LineOutcome(LineOutcomeKind Kind, DropReason Reason, MalformedKind Error);

internal enum LineOutcomeKind : byte
{
    Blank = 0,
    Kept,
    Dropped,
    Quarantined,
}
