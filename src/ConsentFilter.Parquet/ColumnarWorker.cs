using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;

namespace ConsentFilter.Parquet;

/// <summary>
/// The columnar worker (Parquet and Arrow IPC): reads each row's decision cells from the batch's columns, decides the
/// row through <see cref="RecordDecision"/> and accounts for it through <see cref="RecordAudit"/>, then gathers the kept
/// rows of every column into the batch the sink writes.
/// </summary>
/// <remarks>
/// The rules mirror the CSV worker's: a null or empty user id is <c>missing_user_id</c>; a null region is no region; a
/// null co-subject cell or list is none; a null or empty co-subject element is <c>bad_subject_type</c>; more than the
/// maximum is <c>too_many_subjects</c>; string bytes that are not UTF-8 are <c>invalid_utf8</c>. One per worker; not thread-safe.
/// </remarks>
internal sealed class ColumnarWorker(WorkerContext context) : IBatchWorker
{
    private readonly RecordAudit _audit = new(context.Audit, context.InputNames, "row");
    private readonly ConsentPolicy _policy = context.Policy;
    private readonly int _maxSubjects = context.Options.MaxSubjects;
    private readonly List<byte[]> _subjects = [];
    private byte[] _userScratch = new byte[32];
    private byte[] _cellScratch = new byte[32];
    private readonly RegionCellCache _regions = new(context.Policy);

    public void Process(RecordBatch recordBatch, bool compact)
    {
        var batch = (ColumnarBatch)recordBatch;
        _audit.Begin(batch);
        var data = batch.Data;
        var columns = batch.Columns;
        var user = columns.User.Cells(data);
        var region = columns.Region?.Cells(data);
        var id = columns.Id?.Cells(data);
        var subjects = columns.Subjects.Select(s => s.Cells(data)).ToArray();
        var keep = new bool[data.Length];
        var results = compact ? null : new RecordResult?[data.Length];
        var kept = 0;
        for (var row = 0; row < keep.Length; row++)
        {
            if (Decide(batch, row, user, region, id, subjects, results) == RecordOutcome.Kept)
            {
                keep[row] = true;
                kept++;
            }
        }

        batch.Keep = keep;
        batch.KeptCount = kept;
        batch.Results = results;
        if (compact)
        {
            batch.Filtered = kept == 0 ? null : kept == keep.Length ? data : ArrowTake.Filter(data, keep, kept, batch.Buffers);
            batch.ReleaseData();
        }
    }

    /// <summary>Decides one row and accounts for it; its result object only when <paramref name="results"/> asks for them (no allocation per row otherwise).</summary>
    private RecordOutcome Decide(
        ColumnarBatch batch, int row, ColumnCells user, ColumnCells? regionColumn, ColumnCells? idColumn, ColumnCells[] subjectColumns, RecordResult?[]? results)
    {
        var line = batch.RowsBefore + row + 1;

        // Field checks in the JSON order: the author, the region, then the co-subjects.
        var userState = user.Scalar(row, ref _userScratch, out var author);
        var malformed = userState switch
        {
            CellState.Null => MalformedKind.MissingUserId,
            CellState.InvalidUtf8 => MalformedKind.InvalidUtf8,
            _ => author.IsEmpty ? MalformedKind.MissingUserId : MalformedKind.None,
        };

        var summaryRegion = string.Empty;
        RegionMatch? recordRegion = null;
        if (malformed == MalformedKind.None && regionColumn is not null)
        {
            switch (regionColumn.Scalar(row, ref _cellScratch, out var regionBytes))
            {
                case CellState.InvalidUtf8:
                    malformed = MalformedKind.InvalidUtf8;
                    break;
                case CellState.Value:
                    recordRegion = _regions.Resolve(regionBytes, out summaryRegion);
                    break;
            }
        }

        if (malformed == MalformedKind.None)
        {
            malformed = ReadSubjects(row, subjectColumns);
        }

        if (malformed != MalformedKind.None)
        {
            _audit.Quarantined(batch, line, malformed, default, hasRaw: false);
            results?[row] = new RecordResult(line, RecordOutcome.Quarantined, default, malformed, ReadOnlyMemory<byte>.Empty);
            return RecordOutcome.Quarantined;
        }

        var subjects = new RecordDecision.ByteArraySubjects(_subjects);
        var verdict = RecordDecision.Decide(_policy, author, recordRegion, ref subjects);
        if (verdict.IsKept)
        {
            _audit.Kept(batch, verdict, summaryRegion);
            if (_audit.HasSummary)
            {
                _audit.KeptSubject(batch, author, summaryRegion);
                foreach (var subject in _subjects)
                {
                    _audit.KeptSubject(batch, subject, summaryRegion);
                }
            }

            results?[row] = new RecordResult(line, RecordOutcome.Kept, verdict, MalformedKind.None, ReadOnlyMemory<byte>.Empty);
            return RecordOutcome.Kept;
        }

        var failing = verdict.Subject == 0 ? author : _subjects[verdict.Subject - 1];
        var id = idColumn is not null && idColumn.Scalar(row, ref _cellScratch, out var idBytes) == CellState.Value
            ? new RecordId(idBytes, IsRawJson: false)
            : RecordId.None;
        _audit.Dropped(batch, line, id, verdict, failing, summaryRegion);
        results?[row] = new RecordResult(line, RecordOutcome.Dropped, verdict, MalformedKind.None, ReadOnlyMemory<byte>.Empty);
        return RecordOutcome.Dropped;
    }

    private MalformedKind ReadSubjects(int row, ColumnCells[] columns)
    {
        _subjects.Clear();
        foreach (var column in columns)
        {
            if (!column.IsList)
            {
                var state = column.Scalar(row, ref _cellScratch, out var value);
                if (state == CellState.Null)
                {
                    continue;
                }

                if (Add(state, value) is var kind && kind != MalformedKind.None)
                {
                    return kind;
                }

                continue;
            }

            if (!column.List(row, out var start, out var end))
            {
                continue;
            }

            var elements = column.Elements;
            for (var e = start; e < end; e++)
            {
                var state = ColumnCells.Read(elements, e, ref _cellScratch, out var value);
                if (Add(state, value) is var kind && kind != MalformedKind.None)
                {
                    return kind;
                }
            }
        }

        return MalformedKind.None;
    }

    private MalformedKind Add(CellState state, ReadOnlySpan<byte> value)
    {
        if (state == CellState.InvalidUtf8)
        {
            return MalformedKind.InvalidUtf8;
        }

        if (state == CellState.Null || value.IsEmpty)
        {
            return MalformedKind.BadSubjectType;
        }

        if (_subjects.Count >= _maxSubjects)
        {
            return MalformedKind.TooManySubjects;
        }

        _subjects.Add(value.ToArray());
        return MalformedKind.None;
    }
}
