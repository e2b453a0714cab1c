using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;

namespace ConsentFilter.Tabular;

/// <summary>
/// What CSV and Parquet runs share: deciding a row through <see cref="RecordDecision"/>, counting it, writing its
/// rejection or quarantine line (the JSONL formats of SPEC 4), and building the report.
/// </summary>
/// <remarks>Single-threaded: rows are decided in input order by the reading loop.</remarks>
internal sealed class TabularRun
{
    private static readonly JsonWriterOptions s_jsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ConsentPolicy _policy;
    private readonly ConsentFilterOptions _options;
    private readonly IReadOnlyList<string> _names;
    private readonly Stream? _rejections;
    private readonly Stream? _quarantine;
    private readonly byte[]? _hashKey;
    private readonly IProgress<FilterProgress>? _progress;
    private readonly ArrayBufferWriter<byte> _audit = new(4096);
    private readonly Utf8JsonWriter _json;
    private readonly byte[] _hash = new byte[32];
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly RunCounts _totals = new();
    private readonly string _lineName;

    internal TabularRun(
        ConsentPolicy policy, ConsentFilterOptions options, IReadOnlyList<string> inputNames, Stream? rejections, Stream? quarantine,
        IProgress<FilterProgress>? progress, string lineName)
    {
        _policy = policy;
        _options = options;
        _names = inputNames;
        _rejections = rejections;
        _quarantine = quarantine;
        _progress = progress;
        _lineName = lineName;
        _hashKey = options.UserIdHashKey is null ? null : Encoding.UTF8.GetBytes(options.UserIdHashKey);
        _json = new Utf8JsonWriter(_audit, s_jsonOptions);
        PerInput = new RunCounts[inputNames.Count];
        Contents = new InputContent[inputNames.Count];
        for (var i = 0; i < PerInput.Length; i++)
        {
            PerInput[i] = new RunCounts();
        }
    }

    internal RunCounts[] PerInput { get; }

    /// <summary>How each input was stored; the reading loop sets it once an input was read to its end.</summary>
    internal InputContent[] Contents { get; }

    /// <summary>Decides one row and accounts for it; true when it is kept.</summary>
    /// <param name="input">Index of the input.</param>
    /// <param name="line">1-based line (CSV) or row (Parquet) number in that input.</param>
    /// <param name="record">The row's fields.</param>
    /// <param name="raw">The row's text for the quarantine.</param>
    /// <param name="hasRaw">Whether the row has a text form (a CSV row has; a Parquet row has not).</param>
    internal bool Decide(int input, long line, TabularRecord record, ReadOnlySpan<char> raw, bool hasRaw)
    {
        var counts = PerInput[input];
        if (record.Malformed != MalformedKind.None)
        {
            counts.AddQuarantined(record.Malformed);
            _totals.AddQuarantined(record.Malformed);
            if (_quarantine is not null)
            {
                WriteQuarantine(input, line, record.Malformed, raw, hasRaw);
            }

            return false;
        }

        var region = RecordDecision.ResolveRegion(_policy, record.Region);
        var subjects = new RecordDecision.ByteArraySubjects(record.Subjects);
        var verdict = RecordDecision.Decide(_policy, record.UserId, region, ref subjects);
        if (verdict.IsKept)
        {
            counts.AddKept(verdict.Region.Code);
            _totals.AddKept(verdict.Region.Code);
            return true;
        }

        counts.AddDropped(verdict.Reason, verdict.Region.Code);
        _totals.AddDropped(verdict.Reason, verdict.Region.Code);
        if (_rejections is not null)
        {
            WriteRejection(input, line, record, verdict);
        }

        return false;
    }

    internal void AddBlank(int input) => PerInput[input].AddBlank();

    /// <summary>Reports progress so far; call between batches of rows.</summary>
    internal void ReportProgress(int input, long bytesRead) =>
        _progress?.Report(new FilterProgress(_totals.Records, _totals.Kept, _totals.DroppedTotal, _totals.QuarantinedTotal, bytesRead, input));

    /// <summary>The report of a finished run; throws when the counts do not add up (nothing may then be committed).</summary>
    internal FilterReport Report(IReadOnlyList<string> inputPaths)
    {
        var report = new FilterReport(_policy, _options, [.. inputPaths.Select(RecordInput.FromFile)], PerInput, Contents, _started, _clock.Elapsed);
        if (!report.IsConserved)
        {
            throw new InvalidOperationException("internal error: report counts do not add up; nothing is committed");
        }

        foreach (var counts in PerInput)
        {
            RunMetrics.Record(counts, counts.Bytes);
        }

        return report;
    }

    private void WriteQuarantine(int input, long line, MalformedKind kind, ReadOnlySpan<char> raw, bool hasRaw)
    {
        _json.Reset(_audit);
        _json.WriteStartObject();
        _json.WriteString("file"u8, _names[input]);
        _json.WriteNumber(_lineName, line);
        _json.WriteString("error"u8, kind.ToName());
        if (hasRaw && raw.Length <= RecordAudit.MaxQuarantinedRawBytes)
        {
            _json.WriteString("raw"u8, raw);
        }
        else
        {
            _json.WriteBoolean("raw_omitted"u8, true);
        }

        _json.WriteEndObject();
        EndLine(_quarantine!);
    }

    private void WriteRejection(int input, long line, TabularRecord record, RecordVerdict verdict)
    {
        _json.Reset(_audit);
        _json.WriteStartObject();
        _json.WriteString("file"u8, _names[input]);
        _json.WriteNumber(_lineName, line);
        if (record.Id is not null)
        {
            _json.WriteString("id"u8, record.Id);
        }

        _json.WriteString("reason"u8, verdict.Reason.ToName());
        _json.WriteString("subject"u8, verdict.Subject == 0 ? "author"u8 : "co_subject"u8);
        _json.WriteNumber("subject_index"u8, verdict.Subject);
        var subject = verdict.Subject == 0 ? record.UserId : record.Subjects[verdict.Subject - 1];
        if (_hashKey is { } key)
        {
            HMACSHA256.HashData(key, subject, _hash);
        }
        else
        {
            SHA256.HashData(subject, _hash);
        }

        _json.WriteString(_hashKey is null ? "user_sha256"u8 : "user_hmac_sha256"u8, Convert.ToHexStringLower(_hash));
        _json.WriteEndObject();
        EndLine(_rejections!);
    }

    private void EndLine(Stream output)
    {
        _json.Flush();
        _audit.Write("\n"u8);
        output.Write(_audit.WrittenSpan);
        _audit.ResetWrittenCount();
    }
}
