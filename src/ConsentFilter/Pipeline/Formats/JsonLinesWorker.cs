using System.Text.Json;
using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>The JSON Lines adapter's worker: validates and parses each line, decides it, and accounts for it.</summary>
/// <remarks>One per worker; it reuses parse state and scratch buffers across lines, so it is not thread-safe.</remarks>
internal sealed class JsonLinesWorker : IBatchWorker
{
    private readonly LineFields[] _ring;
    private readonly MalformedKind[] _parsed = new MalformedKind[Ahead + 1];
    private readonly Consent.LookupHint[][] _hints = new Consent.LookupHint[Ahead + 1][];
    private LineFields _fields;
    private readonly JsonRecordDecider _decider;
    private readonly RecordAudit _audit;
    private readonly Consent.ILookupPrefetch? _prefetch;

    /// <summary>
    /// Lines parsed ahead of the one being decided: a line's lookups are begun when it is parsed (two lines ahead) and
    /// continued one line ahead, so their cache misses overlap with other lines' work.
    /// </summary>
    private const int Ahead = 2;

    /// <summary>Subjects of a line whose lookups are prefetched (the author and the first co-subjects).</summary>
    private const int HintedSubjects = 4;

    /// <summary>Parse state of a blank line (not a <see cref="MalformedKind"/> a parser returns).</summary>
    private const MalformedKind Blank = (MalformedKind)byte.MaxValue;

    internal JsonLinesWorker(WorkerContext context)
    {
        var (policy, paths) = (context.Policy, context.Paths);
        _ring = [.. Enumerable.Range(0, Ahead + 1).Select(_ => new LineFields(paths))];
        _fields = _ring[0];
        for (var slot = 0; slot < _hints.Length; slot++)
        {
            _hints[slot] = new Consent.LookupHint[HintedSubjects];
        }

        _decider = new JsonRecordDecider(policy);
        _audit = new RecordAudit(context.Audit, context.InputNames);
        _prefetch = policy.Snapshot as Consent.ILookupPrefetch;
    }

    public void Process(RecordBatch recordBatch, bool compact)
    {
        var batch = (LineBatch)recordBatch;
        batch.PrepareOutcomes();
        _audit.Begin(batch);
        var counts = batch.Counts;
        for (var i = 0; i < Ahead && i < batch.Count; i++)
        {
            ParseAhead(batch, i);
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (i + Ahead < batch.Count)
            {
                ParseAhead(batch, i + Ahead);
            }

            if (_prefetch is not null && i + 1 < batch.Count)
            {
                foreach (var hint in _hints[(i + 1) % (Ahead + 1)])
                {
                    _prefetch.Continue(hint);
                }
            }

            var slot = i % (Ahead + 1);
            _fields = _ring[slot];
            ref readonly var entry = ref batch.Lines[i];
            batch.Outcomes[i] = Decide(batch, entry, _parsed[slot], counts);
        }

        if (compact)
        {
            LineBatch.CompactKept(batch);
        }
    }

    /// <summary>
    /// Parses line <paramref name="index"/> into its ring slot and begins the lookups of its author and first co-subjects
    /// (measured in docs/performance.md). Parsing is the same whenever it happens; the prefetch is only a hint.
    /// </summary>
    private void ParseAhead(LineBatch batch, int index)
    {
        var slot = index % (Ahead + 1);
        var fields = _ring[slot];
        var hints = _hints[slot];
        hints.AsSpan().Clear();
        var entry = batch.Lines[index];
        if ((entry.Flags & LineFlags.TooLong) != 0)
        {
            _parsed[slot] = MalformedKind.LineTooLong;
            return;
        }

        var line = batch.Content(entry);
        if (line.IndexOfAnyExcept(" \t\r\n"u8) < 0)
        {
            _parsed[slot] = Blank;
            return;
        }

        var kind = JsonLineParser.Parse(line, fields);
        _parsed[slot] = kind;
        if (kind != MalformedKind.None || _prefetch is null)
        {
            return;
        }

        hints[0] = _prefetch.Begin(_decider.IdBytes(line, fields.UserId));
        for (var s = 0; s < fields.Subjects.Count && s + 1 < HintedSubjects; s++)
        {
            hints[s + 1] = _prefetch.Begin(_decider.IdBytes(line, fields.Subjects[s]));
        }
    }

    /// <summary>Decides one line from its parse state (<see cref="ParseAhead"/>) and the fields in <see cref="_fields"/>.</summary>
    private LineOutcome Decide(LineBatch batch, in LineEntry entry, MalformedKind parsed, RunCounts counts)
    {
        if (parsed == Blank)
        {
            counts.AddBlank();
            return default;
        }

        var line = batch.Content(entry);
        if (parsed != MalformedKind.None)
        {
            _audit.Quarantined(batch, entry.LineNumber, parsed, line);
            return new LineOutcome(LineOutcomeKind.Quarantined, default, parsed);
        }

        var verdict = _decider.Decide(line, _fields);
        var region = _audit.HasSummary ? _decider.SummaryRegion : default;
        if (verdict.IsKept)
        {
            _audit.Kept(batch, verdict, region);
            if (_audit.HasSummary)
            {
                _audit.KeptSubject(batch, _decider.IdBytes(line, _fields.UserId), region);
                foreach (var subject in _fields.Subjects)
                {
                    _audit.KeptSubject(batch, _decider.IdBytes(line, subject), region);
                }
            }

            return new LineOutcome(LineOutcomeKind.Kept, verdict, MalformedKind.None);
        }

        var id = _fields.RecordId;
        scoped RecordId recordId = default;
        if (!id.IsAbsent)
        {
            // The id token exactly as in the record (a validated JSON string or number).
            var start = id.Type == JsonTokenType.String ? id.Start - 1 : id.Start;
            var length = id.Type == JsonTokenType.String ? id.Length + 2 : id.Length;
            recordId = new RecordId(line.Slice(start, length), IsRawJson: true);
        }

        var failing = verdict.Subject == 0 ? _fields.UserId : _fields.Subjects[verdict.Subject - 1];
        _audit.Dropped(batch, entry.LineNumber, recordId, verdict, _decider.IdBytes(line, failing), region);
        return new LineOutcome(LineOutcomeKind.Dropped, verdict, MalformedKind.None);
    }
}
