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

    private readonly LineFields _fields;
    private readonly RecordDecider _decider;
    private readonly AuditSettings _audit;
    private readonly IReadOnlyList<string> _inputNames;
    private readonly byte[] _hash = new byte[32];
    private readonly Provenance.UserSummaryHasher? _summary;
    private readonly Consent.ILookupPrefetch? _prefetch;
    private readonly byte[] _userKey;
    private readonly Consent.LookupHint[] _hints = new Consent.LookupHint[HintRing];
    private Utf8JsonWriter? _json;

    /// <summary>How many lines ahead of the decision a lookup's prefetch begins (stage two runs one line ahead).</summary>
    private const int HintDistance = 2;

    private const int HintRing = 4;

    internal BatchProcessor(ConsentPolicy policy, FieldPaths paths, AuditSettings audit, IReadOnlyList<string> inputNames)
    {
        _fields = new LineFields(paths);
        _decider = new RecordDecider(policy);
        _audit = audit;
        _inputNames = inputNames;
        _summary = audit.UserSummary?.Clone();
        _prefetch = policy.Snapshot as Consent.ILookupPrefetch;
        var userLeaf = paths[paths.PathNodes[FieldPaths.UserField][^1]].Name;
        _userKey = [(byte)'"', .. userLeaf, (byte)'"'];
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
        for (var i = 0; i < batch.Count; i++)
        {
            if (_prefetch is not null)
            {
                PrefetchAhead(batch, i);
            }

            ref readonly var entry = ref batch.Lines[i];
            batch.Outcomes[i] = Decide(batch, entry, counts);
        }

        CompactKept(batch);
    }

    /// <summary>
    /// Begins the author lookup of line <c>i + 2</c> and continues that of line <c>i + 1</c>, so their cache misses
    /// overlap with parsing instead of stalling the decision (measured in docs/performance.md).
    /// </summary>
    /// <remarks>
    /// The author id is found by a quick search for <c>"leaf":"…"</c>, not by the strict parser: a wrong or missing
    /// hint only wastes a prefetch, the decision still parses and looks up the line as always.
    /// </remarks>
    private void PrefetchAhead(LineBatch batch, int i)
    {
        if (i == 0)
        {
            for (var ahead = 0; ahead < HintDistance && ahead < batch.Count; ahead++)
            {
                _hints[ahead % HintRing] = BeginHint(batch, ahead);
            }
        }

        if (i + HintDistance < batch.Count)
        {
            _hints[(i + HintDistance) % HintRing] = BeginHint(batch, i + HintDistance);
        }

        if (i + 1 < batch.Count)
        {
            _prefetch!.Continue(_hints[(i + 1) % HintRing]);
        }
    }

    private Consent.LookupHint BeginHint(LineBatch batch, int index)
    {
        var entry = batch.Lines[index];
        if ((entry.Flags & LineFlags.TooLong) != 0)
        {
            return default;
        }

        var line = batch.Content(entry);
        var key = line.IndexOf(_userKey);
        if (key < 0)
        {
            return default;
        }

        var rest = line[(key + _userKey.Length)..].TrimStart(" \t:"u8);
        if (rest.IsEmpty || rest[0] != (byte)'"')
        {
            return default;
        }

        rest = rest[1..];
        var end = rest.IndexOfAny((byte)'"', (byte)'\\');
        return end > 0 && rest[end] == (byte)'"' ? _prefetch!.Begin(rest[..end]) : default;
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

    private LineOutcome Decide(LineBatch batch, in LineEntry entry, RunCounts counts)
    {
        if ((entry.Flags & LineFlags.TooLong) != 0)
        {
            return Quarantine(batch, entry, MalformedKind.LineTooLong, counts);
        }

        var line = batch.Content(entry);
        if (line.IndexOfAnyExcept(" \t\r\n"u8) < 0)
        {
            counts.AddBlank();
            return new LineOutcome(LineOutcomeKind.Blank, DropReason.None, MalformedKind.None);
        }

        var malformed = JsonLineParser.Parse(line, _fields);
        if (malformed != MalformedKind.None)
        {
            return Quarantine(batch, entry, malformed, counts);
        }

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
