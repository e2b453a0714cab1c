using System.Text;
using System.Text.Json;
using ConsentFilter.Decisions;
using ConsentFilter.Internal;
using ConsentFilter.IO;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;
using nietras.SeparatedValues;

namespace ConsentFilter.Tabular;

/// <summary>Filters CSV records (RFC 4180, UTF-8, header row) and writes the kept rows unchanged.</summary>
/// <remarks>
/// Columns are found by their exact header name (<see cref="ConsentFilterOptions.UserField"/> and the others). A
/// co-subject cell holds ids separated by <c>;</c>, or a JSON array of ids when it starts with <c>[</c>. Each kept
/// row's bytes, from its first byte up to its line ending, are written exactly as read, followed by <c>\n</c>; the header
/// row likewise, once, first. The decision is <see cref="ConsentPolicy"/>'s, author first, as for JSON Lines.
/// </remarks>
public sealed class CsvRecordFilter
{
    private const char Separator = ',';
    private const int ProgressEveryRows = 65536;

    private readonly ConsentPolicy _policy;
    private readonly ConsentFilterOptions _options;

    /// <summary>Creates the filter.</summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid.</exception>
    public CsvRecordFilter(ConsentPolicy policy, ConsentFilterOptions options)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        ConsentFilterOptionsValidator.ThrowIfInvalid(options);
        _policy = policy;
        _options = options;
    }

    /// <summary>Receives progress every 65536 rows and at the end of each input; null for none.</summary>
    public IProgress<FilterProgress>? Progress { get; set; }

    /// <summary>Filters CSV files (<c>.gz</c>/<c>.zst</c> decompressed, <c>-</c> standard input) into one CSV, committing every output only when the whole run succeeded.</summary>
    /// <exception cref="DataFileException">An input is not UTF-8, lacks the user column, names a read column twice, or has a header unlike the first input's.</exception>
    public async Task<FilterReport> RunToFilesAsync(IReadOnlyList<string> inputPaths, FilterFileOutputs outputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputPaths);
        ArgumentNullException.ThrowIfNull(outputs);
        FileRunPaths.Check(_policy, inputPaths, outputs, manifest: false);
        await using var kept = OutputFile.Open(outputs.Output, PhysicalFileSystem.Instance);
        await using var rejections = outputs.Rejections is null ? null : OutputFile.Open(outputs.Rejections, PhysicalFileSystem.Instance);
        await using var quarantine = outputs.Quarantine is null ? null : OutputFile.Open(outputs.Quarantine, PhysicalFileSystem.Instance);
        await using var reportFile = outputs.Report is null ? null : OutputFile.Open(outputs.Report, PhysicalFileSystem.Instance);

        var run = new TabularRun(_policy, _options, inputPaths, rejections?.Stream, quarantine?.Stream, Progress, "line");
        string? firstHeader = null;
        long bytesBefore = 0;
        for (var i = 0; i < inputPaths.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            firstHeader = await Task.Run(() => FilterOne(i, inputPaths[i], run, kept.Stream, firstHeader, bytesBefore, cancellationToken), cancellationToken).ConfigureAwait(false);
            bytesBefore += run.PerInput[i].Bytes;
        }

        return await TabularOutputs.FinishAsync(run, inputPaths, kept, rejections, quarantine, reportFile, cancellationToken).ConfigureAwait(false);
    }

    private string? FilterOne(int input, string path, TabularRun run, Stream kept, string? firstHeader, long bytesBefore, CancellationToken cancellationToken)
    {
        using var source = RecordFiles.OpenRead(path);
        using var checkedStream = new CsvRows.Utf8CheckingStream(source, path);
        using var text = new StreamReader(checkedStream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16, leaveOpen: true);

        // Unescape stays off: Sep unescapes in place, which would change the row text that a kept row writes out.
        var options = new SepReaderOptions(Sep.New(Separator)) with { HasHeader = false, DisableColCountCheck = true, Unescape = false };
        using var reader = options.From(text);
        var record = new TabularRecord();
        Columns? columns = null;
        var bytes = new byte[4096];
        long rows = 0;
        foreach (var row in reader)
        {
            var line = row.RowIndex == 0 ? 1 : row.LineNumberFrom;
            var span = row.Span;
            if (row.ColCount == 1 && span.IsEmpty)
            {
                if (columns is not null)
                {
                    run.AddBlank(input);
                }

                continue;
            }

            if (columns is null)
            {
                columns = Columns.FromHeader(row, path, line, _options);
                var header = span.ToString();
                if (firstHeader is null)
                {
                    firstHeader = header;
                    WriteRow(kept, span, ref bytes);
                }
                else if (!string.Equals(header, firstHeader, StringComparison.Ordinal))
                {
                    throw new DataFileException(path, line, 0, "the header differs from the first input's; all CSV inputs of one run must share one header");
                }

                continue;
            }

            record.Reset();
            if (row.ColCount != columns.Count)
            {
                // No MalformedKind names a wrong field count; the row's structure is invalid, as a line that is not JSON.
                record.Fail(MalformedKind.InvalidJson);
            }
            else
            {
                columns.Read(row, record, _options.MaxSubjects);
            }

            if (run.Decide(input, line, record, span, hasRaw: true))
            {
                WriteRow(kept, span, ref bytes);
            }

            if (++rows % ProgressEveryRows == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                run.ReportProgress(input, bytesBefore + checkedStream.BytesRead);
            }
        }

        run.PerInput[input].Bytes = checkedStream.BytesRead;
        run.ReportProgress(input, bytesBefore + checkedStream.BytesRead);
        return firstHeader;
    }

    private static void WriteRow(Stream output, ReadOnlySpan<char> row, ref byte[] buffer)
    {
        // The input was decoded as strict UTF-8, so encoding the row's text again yields its bytes exactly.
        var max = Encoding.UTF8.GetMaxByteCount(row.Length) + 1;
        if (buffer.Length < max)
        {
            buffer = new byte[Math.Max(max, buffer.Length * 2)];
        }

        var n = Encoding.UTF8.GetBytes(row, buffer);
        buffer[n] = (byte)'\n';
        output.Write(buffer, 0, n + 1);
    }

    /// <summary>Unquotes a raw RFC 4180 cell: a quoted cell loses its quotes and <c>""</c> becomes <c>"</c>; others are verbatim.</summary>
    internal static string Unquote(ReadOnlySpan<char> raw)
    {
        if (raw.Length >= 2 && raw[0] == '"' && raw[^1] == '"')
        {
            return raw[1..^1].ToString().Replace("\"\"", "\"", StringComparison.Ordinal);
        }

        return raw.ToString();
    }

    /// <summary>Reads a co-subject cell: empty → none; <c>[</c>… → a JSON array of ids; otherwise ids separated by <c>;</c>.</summary>
    internal static void ReadSubjects(string cell, TabularRecord record, int maxSubjects)
    {
        if (cell.Length == 0)
        {
            return;
        }

        if (cell[0] != '[')
        {
            foreach (var id in cell.Split(';'))
            {
                record.AddSubject(id, maxSubjects);
            }

            return;
        }

        try
        {
            using var document = JsonDocument.Parse(cell, new JsonDocumentOptions { MaxDepth = 2 });
            foreach (var element in document.RootElement.EnumerateArray())
            {
                switch (element.ValueKind)
                {
                    case JsonValueKind.String:
                        record.AddSubject(element.GetString(), maxSubjects);
                        break;
                    case JsonValueKind.Number when element.GetRawText().AsSpan().IndexOfAny(".eE") < 0:
                        record.AddSubject(element.GetRawText(), maxSubjects);
                        break;
                    default:
                        record.Fail(MalformedKind.BadSubjectType);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            record.Fail(MalformedKind.BadSubjectType);
        }
    }

    /// <summary>Where the columns the decision reads sit in the header.</summary>
    private sealed class Columns
    {
        private int _user = -1;
        private int _region = -1;
        private int _id = -1;
        private int[] _subjects = [];

        internal int Count { get; private init; }

        internal static Columns FromHeader(SepReader.Row header, string path, long line, ConsentFilterOptions options)
        {
            var byName = new Dictionary<string, int>(StringComparer.Ordinal);
            var duplicates = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < header.ColCount; i++)
            {
                var name = Unquote(header[i].Span);
                if (!byName.TryAdd(name, i))
                {
                    duplicates.Add(name);
                }
            }

            int Find(string name)
            {
                if (duplicates.Contains(name))
                {
                    throw new DataFileException(path, line, 0, $"column '{name}' appears more than once in the header");
                }

                return byName.TryGetValue(name, out var index) ? index : -1;
            }

            var columns = new Columns
            {
                Count = header.ColCount,
                _user = Find(options.UserField),
                _region = Find(options.RegionField),
                _id = Find(options.IdField),
                _subjects = [.. options.SubjectFields.Select(Find).Where(i => i >= 0)],
            };
            if (columns._user < 0)
            {
                throw new DataFileException(path, line, 0, $"the header has no user id column '{options.UserField}' (set the user field to the column's name)");
            }

            return columns;
        }

        internal void Read(SepReader.Row row, TabularRecord record, int maxSubjects)
        {
            record.SetUserId(Unquote(row[_user].Span));
            if (_region >= 0 && Unquote(row[_region].Span) is { Length: > 0 } region)
            {
                record.Region = region;
            }

            if (_id >= 0 && Unquote(row[_id].Span) is { Length: > 0 } id)
            {
                record.Id = id;
            }

            foreach (var column in _subjects)
            {
                ReadSubjects(Unquote(row[column].Span), record, maxSubjects);
            }
        }
    }
}
