using System.Buffers;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using ConsentFilter.Decisions;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>
/// Accounts for every record a worker decides, whatever its format: counts it, writes its rejection-log or quarantine
/// line (SPEC 4: file, line, id, reason, subject, hashed user id — never raw content in the rejection log), and adds it
/// to the manifest's user summary. The one place these outputs are formatted.
/// </summary>
/// <remarks>One per worker: it reuses a JSON writer and hash buffers, so it is not thread-safe.</remarks>
internal sealed class RecordAudit
{
    /// <summary>Past this size a quarantined record's raw bytes are not copied into the quarantine file.</summary>
    internal const int MaxQuarantinedRawBytes = 64 * 1024 * 1024;

    private static readonly JsonWriterOptions s_jsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly AuditSettings _settings;
    private readonly IReadOnlyList<string> _inputNames;
    private readonly byte[] _lineName;
    private readonly byte[] _hash = new byte[32];
    private readonly UserSummaryHasher? _summary;
    private Utf8JsonWriter? _json;

    /// <param name="settings">Which audit outputs are written and how ids are hashed.</param>
    /// <param name="inputNames">Input names as the audit lines name them, by input index.</param>
    /// <param name="lineName">The position's name in audit lines: <c>line</c> for text formats, <c>row</c> for columnar ones.</param>
    internal RecordAudit(AuditSettings settings, IReadOnlyList<string> inputNames, string lineName = "line")
    {
        _settings = settings;
        _inputNames = inputNames;
        _lineName = System.Text.Encoding.UTF8.GetBytes(lineName);
        _summary = settings.UserSummary?.Clone();
    }

    /// <summary>Whether kept and dropped records feed a manifest summary (callers skip the work otherwise).</summary>
    internal bool HasSummary => _summary is not null;

    /// <summary>Prepares a batch's audit buffers; call once before its records are accounted.</summary>
    internal void Begin(RecordBatch batch)
    {
        if (_settings.WriteRejections)
        {
            batch.Rejections = new ArrayBufferWriter<byte>(4096);
        }

        if (_settings.WriteQuarantine)
        {
            batch.Quarantine = new ArrayBufferWriter<byte>(1024);
        }

        if (_summary is not null)
        {
            batch.Summary = _settings.SummaryPool.Rent();
        }
    }

    /// <summary>Counts a kept record; then call <see cref="KeptSubject"/> for each of its subjects when <see cref="HasSummary"/>.</summary>
    /// <param name="batch">The record's batch.</param>
    /// <param name="verdict">The decision.</param>
    /// <param name="summaryRegion">The record's region as the summary keys it (see <see cref="SummaryRegion"/>).</param>
    internal void Kept(RecordBatch batch, in RecordVerdict verdict, ReadOnlySpan<char> summaryRegion)
    {
        batch.Counts.AddKept(verdict.Region.Code);
        batch.Summary?.AddRegion(summaryRegion);
    }

    /// <summary>Adds one subject of a kept record to the manifest summary.</summary>
    internal void KeptSubject(RecordBatch batch, ReadOnlySpan<byte> userId, ReadOnlySpan<char> summaryRegion) =>
        batch.Summary?.KeptPending.Add(_summary!.Hash(userId, summaryRegion));

    /// <summary>Counts a dropped record and writes its rejection-log line.</summary>
    /// <param name="batch">The record's batch.</param>
    /// <param name="line">1-based line (or row) number in its input.</param>
    /// <param name="id">The record id, or none.</param>
    /// <param name="verdict">The decision.</param>
    /// <param name="failingUserId">The exact id bytes of the subject that failed.</param>
    /// <param name="summaryRegion">The record's region as the summary keys it.</param>
    internal void Dropped(RecordBatch batch, long line, in RecordId id, in RecordVerdict verdict, ReadOnlySpan<byte> failingUserId, ReadOnlySpan<char> summaryRegion)
    {
        batch.Counts.AddDropped(verdict.Reason, verdict.Region.Code);
        if (batch.Summary is { } summary)
        {
            // The failing subject: while it stays not allowed with this region, the record stays dropped.
            summary.AddRegion(summaryRegion);
            summary.DroppedPending.Add(_summary!.Hash(failingUserId, summaryRegion));
        }

        if (batch.Rejections is not { } output)
        {
            return;
        }

        var json = Writer(output);
        json.WriteStartObject();
        json.WriteString("file"u8, _inputNames[batch.InputIndex]);
        json.WriteNumber(_lineName, line);
        if (id.IsRawJson)
        {
            json.WritePropertyName("id"u8);
            json.WriteRawValue(id.Value, skipInputValidation: true);
        }
        else if (!id.Value.IsEmpty)
        {
            json.WriteString("id"u8, id.Value);
        }

        json.WriteString("reason"u8, verdict.Reason.ToName());
        json.WriteString("subject"u8, verdict.Subject == 0 ? "author"u8 : "co_subject"u8);
        json.WriteNumber("subject_index"u8, verdict.Subject);
        if (_settings.HashKey is { } key)
        {
            HMACSHA256.HashData(key, failingUserId, _hash);
        }
        else
        {
            SHA256.HashData(failingUserId, _hash);
        }

        json.WriteString(_settings.HashKey is null ? "user_sha256"u8 : "user_hmac_sha256"u8, Convert.ToHexStringLower(_hash));
        json.WriteEndObject();
        EndLine(json, output);
    }

    /// <summary>Counts a malformed record and writes its quarantine line.</summary>
    /// <param name="batch">The record's batch.</param>
    /// <param name="line">1-based line (or row) number in its input.</param>
    /// <param name="kind">What is wrong with it.</param>
    /// <param name="raw">The record's bytes; ignored when <paramref name="hasRaw"/> is false.</param>
    /// <param name="hasRaw">Whether the record has a text form to quarantine (a columnar row has not).</param>
    internal void Quarantined(RecordBatch batch, long line, MalformedKind kind, ReadOnlySpan<byte> raw, bool hasRaw = true)
    {
        batch.Counts.AddQuarantined(kind);
        if (batch.Quarantine is not { } output)
        {
            return;
        }

        var json = Writer(output);
        json.WriteStartObject();
        json.WriteString("file"u8, _inputNames[batch.InputIndex]);
        json.WriteNumber(_lineName, line);
        json.WriteString("error"u8, kind.ToName());
        WriteRaw(json, kind, raw, hasRaw);
        json.WriteEndObject();
        EndLine(json, output);
    }

    /// <summary>
    /// Writes a quarantined record's content (SPEC 4): <c>raw</c> as text, <c>raw_base64</c> when it is not UTF-8, or
    /// <c>raw_omitted</c> when it has no text form, was too long to read, or is larger than the quarantine copies.
    /// </summary>
    /// <remarks>The one place the quarantine's content members are chosen: file runs and the stream both call it.</remarks>
    internal static void WriteRaw(Utf8JsonWriter json, MalformedKind kind, ReadOnlySpan<byte> raw, bool hasRaw = true)
    {
        if (!hasRaw || kind == MalformedKind.LineTooLong || raw.Length > MaxQuarantinedRawBytes)
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
    }

    /// <summary>
    /// A record region as the manifest summary keys it: empty when the record had none, else <c>=</c> followed by the
    /// trimmed, upper-cased region (so an empty region, which resolves to <c>*</c>, differs from none).
    /// </summary>
    internal static string SummaryRegion(string? region) =>
        region is null ? string.Empty : "=" + Jurisdictions.RegionCode.Normalize(region);

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

/// <summary>A record id as the rejection log echoes it.</summary>
/// <param name="Value">A raw JSON token (string with quotes, or number) when <paramref name="IsRawJson"/>, else UTF-8 text; empty for none.</param>
/// <param name="IsRawJson">Whether <paramref name="Value"/> is a validated JSON token written as is.</param>
internal readonly ref struct RecordId(ReadOnlySpan<byte> Value, bool IsRawJson)
{
    internal ReadOnlySpan<byte> Value { get; } = Value;

    internal bool IsRawJson { get; } = IsRawJson;

    internal static RecordId None => default;
}

/// <summary>Which audit outputs a run writes and how user ids in them are hashed.</summary>
/// <param name="WriteRejections">Whether dropped records are logged.</param>
/// <param name="WriteQuarantine">Whether malformed records are written to quarantine.</param>
/// <param name="HashKey">HMAC key for user ids, or null for plain SHA-256.</param>
/// <param name="UserSummary">Collects keyed hashes of the users in kept records (for the manifest), or null.</param>
internal sealed record AuditSettings(bool WriteRejections, bool WriteQuarantine, byte[]? HashKey, UserSummaryHasher? UserSummary = null)
{
    /// <summary>The run's reusable batch summaries (the writer returns each once merged).</summary>
    internal BatchSummaryPool SummaryPool { get; } = new();
}
