using System.Buffers;
using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>A block of whole lines from one input, with what the workers decided for each.</summary>
/// <remarks>
/// The buffer is pooled and returned by <see cref="Release"/> once the writer has copied the kept bytes.
/// Lines are slices of the buffer: nothing is copied between reading and writing.
/// </remarks>
internal sealed class LineBatch : RecordBatch
{
    internal LineBatch(byte[] buffer, int inputIndex, long sequence)
        : base(inputIndex, sequence)
    {
        Buffer = buffer;
    }

    internal byte[] Buffer { get; private set; }

    internal LineEntry[] Lines { get; private set; } = ArrayPool<LineEntry>.Shared.Rent(1024);

    internal int Count { get; private set; }

    /// <summary>Decisions, one per line, filled by a worker.</summary>
    internal LineOutcome[] Outcomes { get; private set; } = [];

    /// <summary>Per-input state of the format (a CSV input's header), shared by every batch of that input; or null.</summary>
    internal object? InputContext { get; set; }

    /// <summary>Bytes of kept lines (each ending in LF) at the front of <see cref="Buffer"/>, after a worker compacted them.</summary>
    internal int KeptLength { get; set; }

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

    /// <summary>
    /// Moves the kept lines (and a written CSV header), each followed by one LF, to the front of the batch buffer so the writer needs one write.
    /// </summary>
    /// <remarks>
    /// In place and safe: the bytes written for a line never reach past that line's own end (its LF, CR, or the spare
    /// byte the splitter leaves after a last line without LF), so no line not yet moved is overwritten.
    /// </remarks>
    internal static void CompactKept(LineBatch batch)
    {
        var buffer = batch.Buffer;
        var written = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch.Outcomes[i].Kind is not (LineOutcomeKind.Kept or LineOutcomeKind.Header))
            {
                continue;
            }

            var entry = batch.Lines[i];
            if (written != entry.Offset)
            {
                buffer.AsSpan(entry.Offset, entry.Length).CopyTo(buffer.AsSpan(written));
            }

            buffer[written + entry.Length] = (byte)'\n';
            written += entry.Length + 1;
        }

        batch.KeptLength = written;
    }


    internal override int RecordCount => Count;

    internal override RecordResult? Result(int index)
    {
        var entry = Lines[index];
        var outcome = Outcomes[index];
        return outcome.Kind switch
        {
            LineOutcomeKind.Kept => new RecordResult(entry.LineNumber, RecordOutcome.Kept, outcome.Verdict, MalformedKind.None, Content(entry).ToArray()),
            LineOutcomeKind.Dropped => new RecordResult(entry.LineNumber, RecordOutcome.Dropped, outcome.Verdict, MalformedKind.None, Content(entry).ToArray()),
            LineOutcomeKind.Quarantined => new RecordResult(entry.LineNumber, RecordOutcome.Quarantined, default, outcome.Error,
                outcome.Error == MalformedKind.LineTooLong ? ReadOnlyMemory<byte>.Empty : Content(entry).ToArray()),
            _ => null,
        };
    }

    internal override void Release()
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

    /// <summary>A CSV input's header row: not a record; written once, ahead of the first input's kept rows.</summary>
    Header = 4,

    /// <summary>With <see cref="Header"/>: this header is the one the output carries.</summary>
    WriteHeader = 8,
}

/// <summary>What happened to one line.</summary>
/// <param name="Kind">Kept, dropped, quarantined, or not a record.</param>
/// <param name="Verdict">The decision of a kept or dropped record.</param>
/// <param name="Error">The malformed kind of a quarantined record.</param>
internal readonly record struct LineOutcome(LineOutcomeKind Kind, RecordVerdict Verdict, MalformedKind Error);

internal enum LineOutcomeKind : byte
{
    /// <summary>Not a record: a blank line, or a CSV header row that is not written.</summary>
    Blank = 0,
    Kept,
    Dropped,
    Quarantined,

    /// <summary>Not a record but written with the kept lines: the output's CSV header row.</summary>
    Header,
}
