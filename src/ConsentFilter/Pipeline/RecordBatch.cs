using System.Buffers;

namespace ConsentFilter.Pipeline;

/// <summary>
/// A block of records from one input as it moves through the pipeline: a source adapter fills it, a worker decides it
/// (through <see cref="RecordAudit"/>), and the sink writes its kept records in input order.
/// </summary>
/// <remarks>
/// What is common to every format lives here: where the batch came from, its counts, its audit lines and its manifest
/// summary. How the records are held (a byte buffer of lines or rows, a columnar row group) is the format's.
/// </remarks>
internal abstract class RecordBatch(int inputIndex, long sequence)
{
    private readonly TaskCompletionSource _processed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal int InputIndex { get; } = inputIndex;

    internal long Sequence { get; } = sequence;

    internal RunCounts Counts { get; } = new();

    /// <summary>Rejection-log lines for this batch, in record order (only when a rejection log is written).</summary>
    internal ArrayBufferWriter<byte>? Rejections { get; set; }

    /// <summary>Quarantine lines for this batch, in record order (only when a quarantine file is written).</summary>
    internal ArrayBufferWriter<byte>? Quarantine { get; set; }

    /// <summary>The manifest's summary of this batch (kept and dropped user/region pairs), when a manifest is written.</summary>
    internal OutputSummary? Summary { get; set; }

    /// <summary>Input bytes (after decompression) read to fill this batch.</summary>
    internal long InputBytes { get; set; }

    /// <summary>Completes when a worker has decided every record, or faults with the worker's exception.</summary>
    internal Task Processed => _processed.Task;

    internal void MarkProcessed() => _processed.TrySetResult();

    internal void MarkFailed(Exception exception) => _processed.TrySetException(exception);

    /// <summary>Records (and non-records such as blank lines) in the batch, for <see cref="Result"/>.</summary>
    internal abstract int RecordCount { get; }

    /// <summary>What a worker decided for entry <paramref name="index"/> (processed without compaction); null when it is no record.</summary>
    internal abstract RecordResult? Result(int index);

    /// <summary>Returns pooled memory; the batch is not used afterwards.</summary>
    internal abstract void Release();
}
