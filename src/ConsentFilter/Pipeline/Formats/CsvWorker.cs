using System.Text;
using System.Text.Json;
using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>The CSV adapter's worker: validates each row, extracts its decision fields, decides it and accounts for it.</summary>
/// <remarks>One per worker; it reuses field lists and scratch buffers across rows, so it is not thread-safe.</remarks>
internal sealed class CsvWorker(WorkerContext context) : IBatchWorker
{
    private readonly RecordAudit _audit = new(context.Audit, context.InputNames);
    private readonly ConsentPolicy _policy = context.Policy;
    private readonly int _maxSubjects = context.Options.MaxSubjects;
    private readonly List<CsvRecordScanner.Field> _fields = [];
    private readonly List<byte[]> _subjects = [];
    private byte[] _userScratch = new byte[64];
    private byte[] _cellScratch = new byte[64];
    private readonly RegionCellCache _regions = new(context.Policy);

    public void Process(RecordBatch recordBatch, bool compact)
    {
        var batch = (LineBatch)recordBatch;
        batch.PrepareOutcomes();
        _audit.Begin(batch);
        var columns = batch.InputContext as CsvColumns;
        for (var i = 0; i < batch.Count; i++)
        {
            batch.Outcomes[i] = Decide(batch, batch.Lines[i], columns);
        }

        if (compact)
        {
            LineBatch.CompactKept(batch);
        }
    }

    private LineOutcome Decide(LineBatch batch, in LineEntry entry, CsvColumns? columns)
    {
        if ((entry.Flags & LineFlags.Header) != 0)
        {
            return new LineOutcome((entry.Flags & LineFlags.WriteHeader) != 0 ? LineOutcomeKind.Header : LineOutcomeKind.Blank, default, MalformedKind.None);
        }

        var row = batch.Content(entry);
        if ((entry.Flags & LineFlags.TooLong) != 0)
        {
            return Quarantine(batch, entry, MalformedKind.LineTooLong, row);
        }

        if (row.IndexOfAnyExcept(" \t\r\n"u8) < 0)
        {
            batch.Counts.AddBlank();
            return default;
        }

        if (!Internal.Utf8Validator.IsValid(row))
        {
            return Quarantine(batch, entry, MalformedKind.InvalidUtf8, row);
        }

        // The header precedes every non-blank row, so its columns are known here.
        if (!CsvRecordScanner.ParseFields(row, CsvFormat.Separator, _fields) || _fields.Count != columns!.Count)
        {
            return Quarantine(batch, entry, MalformedKind.InvalidCsv, row);
        }

        // Field checks in the JSON order: the author first, then the co-subjects.
        var author = _fields[columns.User].Value(row, ref _userScratch);
        var malformed = author.IsEmpty ? MalformedKind.MissingUserId : ReadSubjects(row, columns);
        if (malformed != MalformedKind.None)
        {
            return Quarantine(batch, entry, malformed, row);
        }

        var summaryRegion = string.Empty;
        RegionMatch? recordRegion = null;
        if (columns.Region >= 0 && _fields[columns.Region].Value(row, ref _cellScratch) is { IsEmpty: false } regionBytes)
        {
            // An empty cell is no region (CSV has no other way to leave one out); see docs/formats-csv.md.
            recordRegion = _regions.Resolve(regionBytes, out summaryRegion);
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

            return new LineOutcome(LineOutcomeKind.Kept, verdict, MalformedKind.None);
        }

        var id = columns.Id >= 0 ? new RecordId(_fields[columns.Id].Value(row, ref _cellScratch), IsRawJson: false) : RecordId.None;
        var failing = verdict.Subject == 0 ? author : _subjects[verdict.Subject - 1];
        _audit.Dropped(batch, entry.LineNumber, id, verdict, failing, summaryRegion);
        return new LineOutcome(LineOutcomeKind.Dropped, verdict, MalformedKind.None);
    }

    private LineOutcome Quarantine(LineBatch batch, in LineEntry entry, MalformedKind kind, ReadOnlySpan<byte> row)
    {
        _audit.Quarantined(batch, entry.LineNumber, kind, row);
        return new LineOutcome(LineOutcomeKind.Quarantined, default, kind);
    }

    /// <summary>
    /// Reads the co-subject cells: empty → none; starting with <c>[</c> → a JSON array of ids (strings or integers);
    /// otherwise ids separated by <c>;</c>. An empty id, another JSON type, or more than the maximum is malformed.
    /// </summary>
    private MalformedKind ReadSubjects(ReadOnlySpan<byte> row, CsvColumns columns)
    {
        _subjects.Clear();
        foreach (var column in columns.Subjects)
        {
            var cell = _fields[column].Value(row, ref _cellScratch);
            if (cell.IsEmpty)
            {
                continue;
            }

            var kind = cell[0] == (byte)'[' ? ReadJsonArray(cell) : ReadSeparated(cell);
            if (kind != MalformedKind.None)
            {
                return kind;
            }
        }

        return MalformedKind.None;
    }

    private MalformedKind ReadSeparated(ReadOnlySpan<byte> cell)
    {
        foreach (var range in cell.Split((byte)';'))
        {
            if (Add(cell[range].ToArray()) is var kind && kind != MalformedKind.None)
            {
                return kind;
            }
        }

        return MalformedKind.None;
    }

    private MalformedKind ReadJsonArray(ReadOnlySpan<byte> cell)
    {
        var reader = new Utf8JsonReader(cell, new JsonReaderOptions { MaxDepth = 2 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                return MalformedKind.BadSubjectType;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                byte[] id;
                if (reader.TokenType == JsonTokenType.String)
                {
                    id = Encoding.UTF8.GetBytes(reader.GetString()!);
                }
                else if (reader.TokenType == JsonTokenType.Number && reader.ValueSpan.IndexOfAny(".eE"u8) < 0)
                {
                    id = reader.ValueSpan.ToArray();
                }
                else
                {
                    return MalformedKind.BadSubjectType;
                }

                if (Add(id) is var kind && kind != MalformedKind.None)
                {
                    return kind;
                }
            }

            // Anything after the array's end is not one array of ids.
            return reader.TokenType == JsonTokenType.EndArray && !reader.Read() ? MalformedKind.None : MalformedKind.BadSubjectType;
        }
        catch (JsonException)
        {
            return MalformedKind.BadSubjectType;
        }
        catch (InvalidOperationException)
        {
            // A string that is not text (an escaped lone surrogate) cannot be an id.
            return MalformedKind.BadSubjectType;
        }
    }

    private MalformedKind Add(byte[] id)
    {
        if (id.Length == 0)
        {
            return MalformedKind.BadSubjectType;
        }

        if (_subjects.Count >= _maxSubjects)
        {
            return MalformedKind.TooManySubjects;
        }

        _subjects.Add(id);
        return MalformedKind.None;
    }
}
