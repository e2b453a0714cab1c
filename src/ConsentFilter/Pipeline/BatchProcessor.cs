using System.Buffers;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>A worker's view of a batch: validates and decides each line, and formats its audit lines.</summary>
/// <remarks>One per worker; it reuses parse state, scratch buffers and JSON writers across lines, so it is not thread-safe.</remarks>
internal sealed class BatchProcessor
{
    /// <summary>Past this size a quarantined line's raw bytes are not copied into the quarantine file.</summary>
    internal const int MaxQuarantinedRawBytes = 64 * 1024 * 1024;

    private static readonly JsonWriterOptions s_jsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly LineFields[] _ring;
    private readonly MalformedKind[] _parsed = new MalformedKind[Ahead + 1];
    private readonly Consent.LookupHint[][] _hints = new Consent.LookupHint[Ahead + 1][];
    private LineFields _fields;
    private readonly RecordDecider _decider;
    private readonly AuditSettings _audit;
    private readonly IReadOnlyList<string> _inputNames;
    private readonly byte[] _hash = new byte[32];
    private readonly Provenance.UserSummaryHasher? _summary;
    private readonly Consent.ILookupPrefetch? _prefetch;
    private Utf8JsonWriter? _json;

    /// <summary>
    /// Lines parsed ahead of the one being decided: a line's lookups are begun when it is parsed (two lines ahead) and
    /// continued one line ahead, so their cache misses overlap with other lines' work.
    /// </summary>
    private const int Ahead = 2;

    /// <summary>Subjects of a line whose lookups are prefetched (the author and the first co-subjects).</summary>
    private const int HintedSubjects = 4;

    /// <summary>Parse state of a blank line (not a <see cref="MalformedKind"/> a parser returns).</summary>
    private const MalformedKind Blank = (MalformedKind)byte.MaxValue;

    internal BatchProcessor(ConsentPolicy policy, FieldPaths paths, AuditSettings audit, IReadOnlyList<string> inputNames)
    {
        _ring = [.. Enumerable.Range(0, Ahead + 1).Select(_ => new LineFields(paths))];
        _fields = _ring[0];
        for (var slot = 0; slot < _hints.Length; slot++)
        {
            _hints[slot] = new Consent.LookupHint[HintedSubjects];
        }

        _decider = new RecordDecider(policy);
        _audit = audit;
        _inputNames = inputNames;
        _summary = audit.UserSummary?.Clone();
        _prefetch = policy.Snapshot as Consent.ILookupPrefetch;
    }

    internal void Process(LineBatch batch)
    {
        batch.PrepareOutcomes();
        if (_audit.WriteRejections)
        {
            batch.Rejections = new ArrayBufferWriter<byte>(4096);
        }

        if (_audit.WriteQuarantine)
        {
            batch.Quarantine = new ArrayBufferWriter<byte>(1024);
        }

        if (_summary is not null)
        {
            batch.Summary = new Provenance.OutputSummary();
        }

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

        CompactKept(batch);
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

    /// <summary>
    /// Moves the kept lines, each followed by one LF, to the front of the batch buffer so the writer needs one write.
    /// </summary>
    /// <remarks>
    /// In place and safe: the bytes written for a line never reach past that line's own end (its LF, CR, or the spare
    /// byte the splitter leaves after a last line without LF), so no line not yet moved is overwritten.
    /// </remarks>
    private static void CompactKept(LineBatch batch)
    {
        var buffer = batch.Buffer;
        var written = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch.Outcomes[i].Kind != LineOutcomeKind.Kept)
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

    /// <summary>Decides one line from its parse state (<see cref="ParseAhead"/>) and the fields in <see cref="_fields"/>.</summary>
    private LineOutcome Decide(LineBatch batch, in LineEntry entry, MalformedKind parsed, RunCounts counts)
    {
        if (parsed == Blank)
        {
            counts.AddBlank();
            return new LineOutcome(LineOutcomeKind.Blank, DropReason.None, MalformedKind.None);
        }

        if (parsed != MalformedKind.None)
        {
            return Quarantine(batch, entry, parsed, counts);
        }

        var line = batch.Content(entry);

        var verdict = _decider.Decide(line, _fields);
        if (verdict.IsKept)
        {
            counts.AddKept(verdict.Region.Code);
            if (batch.Summary is { } summary)
            {
                var region = _decider.SummaryRegion;
                summary.AddRegion(region);
                summary.KeptPending.Add(_summary!.Hash(_decider.IdBytes(line, _fields.UserId), region));
                foreach (var subject in _fields.Subjects)
                {
                    summary.KeptPending.Add(_summary.Hash(_decider.IdBytes(line, subject), region));
                }
            }

            return new LineOutcome(LineOutcomeKind.Kept, DropReason.None, MalformedKind.None);
        }

        counts.AddDropped(verdict.Reason, verdict.Region.Code);
        if (batch.Summary is { } dropped)
        {
            // The failing subject: while it stays not allowed with this region, the record stays dropped.
            var region = _decider.SummaryRegion;
            dropped.AddRegion(region);
            var failing = verdict.Subject == 0 ? _fields.UserId : _fields.Subjects[verdict.Subject - 1];
            dropped.DroppedPending.Add(_summary!.Hash(_decider.IdBytes(line, failing), region));
        }

        if (batch.Rejections is { } rejections)
        {
            WriteRejection(rejections, batch, entry, line, verdict);
        }

        return new LineOutcome(LineOutcomeKind.Dropped, verdict.Reason, MalformedKind.None);
    }

    private LineOutcome Quarantine(LineBatch batch, in LineEntry entry, MalformedKind kind, RunCounts counts)
    {
        counts.AddQuarantined(kind);
        if (batch.Quarantine is { } quarantine)
        {
            var json = Writer(quarantine);
            json.WriteStartObject();
            json.WriteString("file"u8, _inputNames[batch.InputIndex]);
            json.WriteNumber("line"u8, entry.LineNumber);
            json.WriteString("error"u8, kind.ToName());
            var raw = batch.Content(entry);
            if (kind == MalformedKind.LineTooLong || raw.Length > MaxQuarantinedRawBytes)
            {
                json.WriteBoolean("raw_omitted"u8, true);
            }
            else if (kind == MalformedKind.InvalidUtf8)
            {
                json.WriteBase64String("raw_base64"u8, raw);
            }
            else
            {
                json.WriteString("raw"u8, raw);
            }

            json.WriteEndObject();
            EndLine(json, quarantine);
        }

        return new LineOutcome(LineOutcomeKind.Quarantined, DropReason.None, kind);
    }

    private void WriteRejection(ArrayBufferWriter<byte> output, LineBatch batch, in LineEntry entry, ReadOnlySpan<byte> line, RecordVerdict verdict)
    {
        var json = Writer(output);
        json.WriteStartObject();
        json.WriteString("file"u8, _inputNames[batch.InputIndex]);
        json.WriteNumber("line"u8, entry.LineNumber);
        var id = _fields.RecordId;
        if (!id.IsAbsent)
        {
            json.WritePropertyName("id"u8);

            // The id token exactly as in the record (a validated JSON string or number).
            var start = id.Type == JsonTokenType.String ? id.Start - 1 : id.Start;
            var length = id.Type == JsonTokenType.String ? id.Length + 2 : id.Length;
            json.WriteRawValue(line.Slice(start, length), skipInputValidation: true);
        }

        json.WriteString("reason"u8, verdict.Reason.ToName());
        json.WriteString("subject"u8, verdict.Subject == 0 ? "author"u8 : "co_subject"u8);
        json.WriteNumber("subject_index"u8, verdict.Subject);
        var subject = verdict.Subject == 0 ? _fields.UserId : _fields.Subjects[verdict.Subject - 1];
        HashUserId(_decider.IdBytes(line, subject));
        json.WriteString(_audit.HashKey is null ? "user_sha256"u8 : "user_hmac_sha256"u8, Convert.ToHexStringLower(_hash));
        json.WriteEndObject();
        EndLine(json, output);
    }

    private void HashUserId(ReadOnlySpan<byte> userId)
    {
        if (_audit.HashKey is { } key)
        {
            HMACSHA256.HashData(key, userId, _hash);
        }
        else
        {
            SHA256.HashData(userId, _hash);
        }
    }

    private Utf8JsonWriter Writer(IBufferWriter<byte> output)
    {
        if (_json is null)
        {
            _json = new Utf8JsonWriter(output, s_jsonOptions);
        }
        else
        {
            _json.Reset(output);
        }

        return _json;
    }

    private static void EndLine(Utf8JsonWriter json, IBufferWriter<byte> output)
    {
        json.Flush();
        output.Write("\n"u8);
    }
}

/// <summary>Which audit outputs a run writes and how user ids in them are hashed.</summary>
/// <param name="WriteRejections">Whether dropped records are logged.</param>
/// <param name="WriteQuarantine">Whether malformed lines are written to quarantine.</param>
/// <param name="HashKey">HMAC key for user ids, or null for plain SHA-256.</param>
/// <param name="UserSummary">Collects keyed hashes of the users in kept records (for the manifest), or null.</param>
internal sealed record AuditSettings(bool WriteRejections, bool WriteQuarantine, byte[]? HashKey, Provenance.UserSummaryHasher? UserSummary = null);
