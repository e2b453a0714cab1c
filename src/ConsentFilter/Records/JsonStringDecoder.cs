using System.Globalization;

namespace ConsentFilter.Records;

/// <summary>Decodes the escapes of a JSON string into exact UTF-8 bytes, never replacing anything.</summary>
/// <remarks>
/// The reader has already validated the escapes. A lone surrogate (<c>"\ud800"</c>) is legal JSON but not Unicode; it is
/// written as its generalized UTF-8 form (three bytes starting 0xED), which no valid UTF-8 consent id can equal, so such
/// an id is an unknown user rather than a collision with some other user.
/// </remarks>
internal static class JsonStringDecoder
{
    /// <summary>Decodes <paramref name="escaped"/> (the raw string content between quotes).</summary>
    /// <returns>The number of bytes written; the decoded form is never longer than the escaped one.</returns>
    internal static int Decode(ReadOnlySpan<byte> escaped, Span<byte> destination)
    {
        var written = 0;
        var i = 0;
        while (i < escaped.Length)
        {
            var next = escaped[i..].IndexOf((byte)'\\');
            if (next < 0)
            {
                escaped[i..].CopyTo(destination[written..]);
                return written + escaped.Length - i;
            }

            escaped.Slice(i, next).CopyTo(destination[written..]);
            written += next;
            i += next + 1;
            var c = escaped[i++];
            switch (c)
            {
                case (byte)'"': destination[written++] = (byte)'"'; break;
                case (byte)'\\': destination[written++] = (byte)'\\'; break;
                case (byte)'/': destination[written++] = (byte)'/'; break;
                case (byte)'b': destination[written++] = (byte)'\b'; break;
                case (byte)'f': destination[written++] = (byte)'\f'; break;
                case (byte)'n': destination[written++] = (byte)'\n'; break;
                case (byte)'r': destination[written++] = (byte)'\r'; break;
                case (byte)'t': destination[written++] = (byte)'\t'; break;
                case (byte)'u':
                    int codePoint = Hex4(escaped.Slice(i, 4));
                    i += 4;
                    if (codePoint is >= 0xD800 and <= 0xDBFF
                        && i + 6 <= escaped.Length && escaped[i] == '\\' && escaped[i + 1] == 'u')
                    {
                        var low = Hex4(escaped.Slice(i + 2, 4));
                        if (low is >= 0xDC00 and <= 0xDFFF)
                        {
                            codePoint = 0x10000 + ((codePoint - 0xD800) << 10) + (low - 0xDC00);
                            i += 6;
                        }
                    }

                    written += WriteCodePoint(codePoint, destination[written..]);
                    break;
                default:
                    throw new InvalidOperationException("escape was not validated by the JSON reader");
            }
        }

        return written;
    }

    private static int Hex4(ReadOnlySpan<byte> hex)
    {
        Span<char> chars = stackalloc char[4];
        for (var k = 0; k < 4; k++)
        {
            chars[k] = (char)hex[k];
        }

        return int.Parse(chars, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    private static int WriteCodePoint(int cp, Span<byte> destination)
    {
        // Generalized UTF-8: identical to UTF-8 for scalar values, and encodes lone surrogates too.
        if (cp < 0x80)
        {
            destination[0] = (byte)cp;
            return 1;
        }

        if (cp < 0x800)
        {
            destination[0] = (byte)(0xC0 | (cp >> 6));
            destination[1] = (byte)(0x80 | (cp & 0x3F));
            return 2;
        }

        if (cp < 0x10000)
        {
            destination[0] = (byte)(0xE0 | (cp >> 12));
            destination[1] = (byte)(0x80 | ((cp >> 6) & 0x3F));
            destination[2] = (byte)(0x80 | (cp & 0x3F));
            return 3;
        }

        destination[0] = (byte)(0xF0 | (cp >> 18));
        destination[1] = (byte)(0x80 | ((cp >> 12) & 0x3F));
        destination[2] = (byte)(0x80 | ((cp >> 6) & 0x3F));
        destination[3] = (byte)(0x80 | (cp & 0x3F));
        return 4;
    }
}
