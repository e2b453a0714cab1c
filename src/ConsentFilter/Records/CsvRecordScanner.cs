namespace ConsentFilter.Records;

/// <summary>
/// The CSV record rules of SPEC 2.1 over bytes: where a record ends, and its fields. A quote opens a quoted field only
/// at the start of a field; inside an unquoted field it is a literal character. A quoted field runs to the next lone
/// quote (<c>""</c> is an escaped quote) and may hold separators and line breaks; it must be followed by the separator
/// or the record's end, and must be closed, or the record is malformed (<c>invalid_csv</c>).
/// </summary>
/// <remarks>
/// The splitter (<see cref="RecordEnd"/>) and the field parser (<see cref="ParseFields"/>) read the same rules, so a
/// record boundary never depends on which of them looked: a stray quote inside a field cannot merge rows.
/// </remarks>
internal static class CsvRecordScanner
{
    /// <summary>A field of a record: where its raw bytes sit, and whether it was quoted.</summary>
    /// <param name="Start">Offset of the raw field in the record (for a quoted field, of its opening quote).</param>
    /// <param name="Length">Raw length, quotes included.</param>
    /// <param name="Quoted">Whether the field is quoted (its value is unquoted by <see cref="Value"/>).</param>
    /// <param name="HasEscapes">Whether a quoted field holds <c>""</c>.</param>
    internal readonly record struct Field(int Start, int Length, bool Quoted, bool HasEscapes)
    {
        /// <summary>The field's value without its quotes; escaped quotes still doubled when <see cref="HasEscapes"/>.</summary>
        internal ReadOnlySpan<byte> Inner(ReadOnlySpan<byte> record) =>
            Quoted ? record.Slice(Start + 1, Length - 2) : record.Slice(Start, Length);

        /// <summary>The field's value: unquoted, <c>""</c> decoded into <paramref name="scratch"/> when needed.</summary>
        internal ReadOnlySpan<byte> Value(ReadOnlySpan<byte> record, ref byte[] scratch)
        {
            var inner = Inner(record);
            if (!HasEscapes)
            {
                return inner;
            }

            if (scratch.Length < inner.Length)
            {
                scratch = new byte[Math.Max(inner.Length, scratch.Length * 2)];
            }

            var n = 0;
            for (var i = 0; i < inner.Length; i++)
            {
                scratch[n++] = inner[i];
                if (inner[i] == (byte)'"')
                {
                    i++;
                }
            }

            return scratch.AsSpan(0, n);
        }
    }

    /// <summary>
    /// The offset of the LF that ends the record starting at <c>data[0]</c>, or -1 when <paramref name="data"/> holds
    /// no end (more input is needed, or at the end of the input the rest is the last record).
    /// </summary>
    /// <param name="data">Bytes from the start of a record.</param>
    /// <param name="separator">The field separator.</param>
    /// <param name="innerLines">Line breaks inside quoted fields before the end (for line numbers).</param>
    internal static int RecordEnd(ReadOnlySpan<byte> data, byte separator, out int innerLines)
    {
        innerLines = 0;

        // Most records hold no quote before their end: one vector search finds it.
        var first = data.IndexOfAny((byte)'\n', (byte)'"');
        if (first < 0 || data[first] == (byte)'\n')
        {
            return first;
        }

        var fieldStart = 0;
        var i = 0;
        while (i < data.Length)
        {
            var j = data[i..].IndexOfAny((byte)'\n', (byte)'"', separator);
            if (j < 0)
            {
                return -1;
            }

            i += j;
            var b = data[i];
            if (b == (byte)'\n')
            {
                return i;
            }

            if (b == separator)
            {
                fieldStart = ++i;
                continue;
            }

            if (i != fieldStart)
            {
                // A quote inside an unquoted field is a literal character.
                i++;
                continue;
            }

            // A quoted field: runs to the next quote that is not doubled.
            var k = i + 1;
            while (true)
            {
                var q = data[k..].IndexOf((byte)'"');
                if (q < 0)
                {
                    innerLines += data[k..].Count((byte)'\n');
                    return -1;
                }

                innerLines += data.Slice(k, q).Count((byte)'\n');
                k += q;
                if (k + 1 >= data.Length)
                {
                    // Whether this quote is doubled is not known yet.
                    return -1;
                }

                if (data[k + 1] == (byte)'"')
                {
                    k += 2;
                    continue;
                }

                break;
            }

            // After the closing quote the field should end; anything else keeps the field unquoted (and malformed).
            i = k + 1;
            fieldStart = -1;
        }

        return -1;
    }

    /// <summary>Splits a whole record (without its line ending) into fields; false when it breaks the quoting rules.</summary>
    /// <param name="record">The record's bytes.</param>
    /// <param name="separator">The field separator.</param>
    /// <param name="fields">Receives the fields, in order (cleared first).</param>
    internal static bool ParseFields(ReadOnlySpan<byte> record, byte separator, List<Field> fields)
    {
        fields.Clear();
        var i = 0;
        while (true)
        {
            if (i < record.Length && record[i] == (byte)'"')
            {
                var k = i + 1;
                var escapes = false;
                while (true)
                {
                    var q = record[k..].IndexOf((byte)'"');
                    if (q < 0)
                    {
                        return false; // never closed
                    }

                    k += q;
                    if (k + 1 < record.Length && record[k + 1] == (byte)'"')
                    {
                        escapes = true;
                        k += 2;
                        continue;
                    }

                    break;
                }

                fields.Add(new Field(i, k + 1 - i, Quoted: true, escapes));
                i = k + 1;
                if (i == record.Length)
                {
                    return true;
                }

                if (record[i] != separator)
                {
                    return false; // a quoted field followed by anything but the separator or the end
                }

                i++;
                continue;
            }

            var end = record[i..].IndexOf(separator);
            if (end < 0)
            {
                fields.Add(new Field(i, record.Length - i, Quoted: false, HasEscapes: false));
                return true;
            }

            fields.Add(new Field(i, end, Quoted: false, HasEscapes: false));
            i += end + 1;
        }
    }
}
