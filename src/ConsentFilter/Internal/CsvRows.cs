using System.Text;
using nietras.SeparatedValues;

namespace ConsentFilter.Internal;

/// <summary>Reads an RFC 4180 CSV file with Sep, yielding each non-blank row's fields and line number.</summary>
/// <remarks>
/// Decoding is strict UTF-8: an invalid byte is a load error, never a U+FFFD that could merge two ids.
/// Field count is checked by the callers so the error can name the file and line.
/// Blank lines (a single empty field) are skipped: they carry no row.
/// </remarks>
internal static class CsvRows
{
    internal readonly record struct Row(int LineNumber, string[] Fields);

    internal static IEnumerable<Row> Read(Stream stream, string displayName)
    {
        var encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: true, throwOnInvalidBytes: true);
        using var text = new StreamReader(stream, encoding, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16, leaveOpen: true);
        var options = new SepReaderOptions(Sep.New(',')) with
        {
            HasHeader = false,
            DisableColCountCheck = true,
            Unescape = true,
        };
        using var reader = Open(options, text, displayName);
        var lastLine = 1;
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
                lastLine = current.LineNumberFrom;
                if (current.ColCount == 1 && current[0].Span.IsEmpty)
                {
                    continue;
                }

                var fields = new string[current.ColCount];
                for (var i = 0; i < fields.Length; i++)
                {
                    fields[i] = current[i].ToString();
                }

                row = new Row(current.LineNumberFrom, fields);
            }
            catch (DecoderFallbackException e)
            {
                throw new DataFileException(displayName, lastLine, 0, "invalid UTF-8 (the file must be UTF-8 encoded)", e);
            }

            yield return row;
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
    }
}
