using System.Text;
using nietras.SeparatedValues;

namespace ConsentFilter.Internal;

/// <summary>Reads an RFC 4180 CSV file with Sep, yielding each non-blank row's fields and line number.</summary>
/// <remarks>
/// Decoding is strict UTF-8: an invalid byte is a load error, never a U+FFFD that could merge two ids. The bytes are
/// checked as they are read, so the error names the line of the invalid byte (the decoder reads ahead by whole buffers
/// and cannot tell). Field count is checked by the callers so the error can name the file and line.
/// Blank lines (a single empty field) are skipped: they carry no row.
/// </remarks>
internal static class CsvRows
{
    /// <summary>The longest row Sep reads; a longer one is a load error.</summary>
    internal const int MaxRowChars = 16 * 1024 * 1024;

    internal readonly record struct Row(int LineNumber, string[] Fields);

    internal static IEnumerable<Row> Read(Stream stream, string displayName)
    {
        var encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: true, throwOnInvalidBytes: true);
        using var checkedStream = new Utf8CheckingStream(stream, displayName);
        using var text = new StreamReader(checkedStream, encoding, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16, leaveOpen: true);
        var options = new SepReaderOptions(Sep.New(',')) with
        {
            HasHeader = false,
            DisableColCountCheck = true,
            // Sep unescapes (and pools) the fields; whether the quoting is RFC 4180's at all is checked here on the row's
            // raw text (CheckQuoting), as Sep accepts what RFC 4180 does not.
            Unescape = true,
            // Consent columns repeat a few values ("granted", "false", regions, timestamps): pooled strings save most of
            // a large file's allocations (and the garbage collections they cause).
            CreateToString = SepToString.PoolPerCol(maximumStringLength: 40),
        };
        using var reader = Open(options, text, displayName);
        var lastLine = 1;
        var previousRow = 0;
        while (true)
        {
            Row row;
            try
            {
                if (!reader.MoveNext())
                {
                    yield break;
                }

                var current = reader.Current;
                // Sep reports the first row as starting on line 2 when it has no header row; it starts on line 1.
                lastLine = current.RowIndex == 0 ? 1 : current.LineNumberFrom;
                previousRow = lastLine;
                if (current.ColCount == 1 && current[0].Span.IsEmpty)
                {
                    continue;
                }

                if (current.Span.Contains('"'))
                {
                    CheckQuoting(current.Span, displayName, lastLine);
                }

                var fields = new string[current.ColCount];
                for (var i = 0; i < fields.Length; i++)
                {
                    fields[i] = current[i].ToString();
                }

                row = new Row(lastLine, fields);
            }
            catch (DecoderFallbackException e)
            {
                throw new DataFileException(displayName, lastLine, 0, "invalid UTF-8 (the file must be UTF-8 encoded)", e);
            }
            catch (NotSupportedException e)
            {
                throw RowTooLong(displayName, previousRow, e);
            }

            yield return row;
        }
    }

    /// <summary>A row's quoting, as RFC 4180 allows it: a field holding a quote is quoted as a whole, its quotes doubled; anything else is a load error.</summary>
    /// <remarks>
    /// Sep, like most lenient readers, lets a quote in the middle of a field open a quoted section, and a section never
    /// closed runs to the end of the file: every row after a stray quote would silently become part of one cell (a later
    /// opt-out row, an <c>excluded</c> region gone, the record kept). Here such a row stops the load instead, naming the
    /// line where it starts and the field: a quote inside an unquoted field, text after a closing quote, a quote never
    /// closed. Only rows holding a quote are scanned, once.
    /// </remarks>
    private static void CheckQuoting(ReadOnlySpan<char> row, string displayName, int line)
    {
        var column = 1;
        var at = 0;
        while (true)
        {
            if (at < row.Length && row[at] == '"')
            {
                at++;
                while (true)
                {
                    var quote = row[at..].IndexOf('"');
                    if (quote < 0)
                    {
                        throw new DataFileException(displayName, line, column, "a quoted field is never closed (it runs to the end of the file)");
                    }

                    at += quote + 1;
                    if (at < row.Length && row[at] == '"')
                    {
                        at++;
                        continue;
                    }

                    break;
                }

                if (at == row.Length)
                {
                    return;
                }

                if (row[at] != ',')
                {
                    throw new DataFileException(displayName, line, column, "text after the closing quote of a quoted field");
                }
            }
            else
            {
                var next = row[at..].IndexOfAny(',', '"');
                if (next < 0)
                {
                    return;
                }

                at += next;
                if (row[at] == '"')
                {
                    throw new DataFileException(displayName, line, column, "a quote inside an unquoted field (RFC 4180: a field holding a quote is quoted as a whole, its quotes doubled)");
                }
            }

            at++;
            column++;
        }
    }

    private static SepReader Open(SepReaderOptions options, TextReader text, string displayName)
    {
        try
        {
            return options.From(text);
        }
        catch (DecoderFallbackException e)
        {
            throw new DataFileException(displayName, 1, 0, "invalid UTF-8 (the file must be UTF-8 encoded)", e);
        }
        catch (NotSupportedException e)
        {
            throw RowTooLong(displayName, 0, e);
        }
    }

    /// <summary>Sep holds a whole row in memory and refuses one past 16 Mi characters; that is a load error, not a crash.</summary>
    private static DataFileException RowTooLong(string displayName, int previousRowLine, NotSupportedException e) =>
        new(displayName, 0, 0, previousRowLine > 0
            ? $"the row after line {previousRowLine} is longer than {MaxRowChars} characters (an unterminated quote?)"
            : $"the first row is longer than {MaxRowChars} characters (an unterminated quote?)", e);

    /// <summary>Passes bytes through, failing at the first byte that is not UTF-8 with the line it is on.</summary>
    internal sealed class Utf8CheckingStream(Stream inner, string displayName) : ReadOnlyStream
    {
        private readonly byte[] _pending = new byte[4];
        private int _pendingCount;
        private long _line = 1;

        /// <summary>Bytes passed through so far.</summary>
        internal long BytesRead { get; private set; }

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            BytesRead += n;
            Check(buffer[..n]);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            BytesRead += n;
            Check(buffer.Span[..n]);
            return n;
        }

        private void Check(ReadOnlySpan<byte> chunk)
        {
            if (chunk.IsEmpty)
            {
                if (_pendingCount > 0)
                {
                    throw Invalid();
                }

                return;
            }

            // Finish a sequence split across reads, one byte at a time.
            while (_pendingCount > 0 && !chunk.IsEmpty)
            {
                _pending[_pendingCount++] = chunk[0];
                chunk = chunk[1..];
                var status = Rune.DecodeFromUtf8(_pending.AsSpan(0, _pendingCount), out _, out _);
                if (status == System.Buffers.OperationStatus.InvalidData)
                {
                    throw Invalid();
                }

                if (status == System.Buffers.OperationStatus.Done)
                {
                    _pendingCount = 0;
                }
            }

            while (!chunk.IsEmpty)
            {
                var nonAscii = chunk.IndexOfAnyExceptInRange((byte)0, (byte)0x7F);
                var ascii = nonAscii < 0 ? chunk : chunk[..nonAscii];
                _line += ascii.Count((byte)'\n');
                if (nonAscii < 0)
                {
                    return;
                }

                chunk = chunk[nonAscii..];
                switch (Rune.DecodeFromUtf8(chunk, out _, out var consumed))
                {
                    case System.Buffers.OperationStatus.Done:
                        chunk = chunk[consumed..];
                        break;
                    case System.Buffers.OperationStatus.NeedMoreData:
                        chunk.CopyTo(_pending);
                        _pendingCount = chunk.Length;
                        return;
                    default:
                        throw Invalid();
                }
            }
        }

        private DataFileException Invalid() => new(displayName, _line, 0, "invalid UTF-8 (the file must be UTF-8 encoded)");
    }
}
