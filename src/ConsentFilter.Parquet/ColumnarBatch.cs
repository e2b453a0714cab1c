using ConsentFilter.Pipeline;

namespace ConsentFilter.Parquet;

/// <summary>
/// A columnar batch in the pipeline: one Parquet row group or one Arrow IPC record batch as an Apache.Arrow record
/// batch, the decision columns found in its input's schema, and, once decided, the kept rows as a batch of the same
/// schema for the sink.
/// </summary>
internal sealed class ColumnarBatch(int inputIndex, long sequence, Apache.Arrow.RecordBatch data, long rowsBefore, DecisionColumns columns)
    : RecordBatch(inputIndex, sequence)
{
    private readonly int _rows = data.Length;
    private bool _dataReleased;

    /// <summary>The rows as read (every column); released early by <see cref="ReleaseData"/> once the kept rows are copied out.</summary>
    internal Apache.Arrow.RecordBatch Data { get; } = data;

    /// <summary>Rows of the same input before this batch (row numbers are 1-based in the input).</summary>
    internal long RowsBefore { get; } = rowsBefore;

    internal DecisionColumns Columns { get; } = columns;

    /// <summary>Which rows a worker kept.</summary>
    internal bool[]? Keep { get; set; }

    internal int KeptCount { get; set; }

    /// <summary>Each row's result when decided without compaction (<see cref="RecordFilter.DecideAsync"/>).</summary>
    internal RecordResult?[]? Results { get; set; }

    /// <summary>The kept rows, every column, schema unchanged (after a compacting worker); null when none is kept.</summary>
    internal Apache.Arrow.RecordBatch? Filtered { get; set; }

    /// <summary>The pooled memory of <see cref="Filtered"/>, given back on <see cref="Release"/>.</summary>
    internal TakeBuffers Buffers { get; } = new();

    internal override int RecordCount => _rows;

    /// <summary>
    /// Frees the rows as read while the batch waits for the writer, so the batches in flight hold their kept rows
    /// only. Only when <see cref="Filtered"/> shares no memory with them (a gathered dictionary column keeps its
    /// input's dictionary, so a schema with one keeps the rows until <see cref="Release"/>).
    /// </summary>
    internal void ReleaseData()
    {
        if (!_dataReleased && !Columns.HasDictionary && !Buffers.SharesInput && !ReferenceEquals(Filtered, Data))
        {
            _dataReleased = true;
            Data.Dispose();
        }
    }

    internal override RecordResult? Result(int index) => Results?[index];

    /// <remarks>
    /// The kept rows' gathered buffers are pooled and given back here; their other buffers belong to the rows as read
    /// (a dictionary, a slice) or to a concatenation the collector frees, so the kept batch itself is not disposed: that
    /// would dispose memory the rows as read (and, for a dictionary, the next batches of the stream) still use.
    /// </remarks>
    internal override void Release()
    {
        Filtered = null;
        Buffers.Return();
        if (!_dataReleased && !Columns.HasDictionary)
        {
            _dataReleased = true;
            Data.Dispose();
        }
    }
}
