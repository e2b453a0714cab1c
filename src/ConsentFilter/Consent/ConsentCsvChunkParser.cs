using System.IO.Hashing;
using System.Text;
using ConsentFilter.Internal;
using ConsentFilter.Jurisdictions;
using RowEntry = ConsentFilter.Consent.ExternalSnapshotBuilder.RowEntry;

namespace ConsentFilter.Consent;

/// <summary>
/// Reads data rows of a consent CSV straight from their UTF-8 bytes into hashed row entries, one chunk of whole lines
/// per call, so the chunks of one file can be read on every core.
/// </summary>
/// <remarks>
/// Only the common shape is read here: every row on one line with the header's number of fields, quoted fields in the
/// RFC 4180 form (a quote opens and closes the field, a doubled quote inside stands for one), every cell valid. At the
/// first row it cannot take as it is — including a quoted field left open at the end of its line, which is how a field
/// spanning lines shows in whichever chunk holds its first line — <see cref="TryParse"/> returns false and the caller
/// reads the file with the sequential reader (<see cref="CsvRows"/>), which decides what the row means and names its
/// line in the error. So a chunk boundary inside a quoted field can never be read as two rows: the chunk with the
/// field's first line fails. Every cell is judged by the sequential reader's own functions
/// (<see cref="ConsentValues"/>, <see cref="IsoTimestamp"/>, <see cref="RegionCode"/>) on the same (unquoted) text, so
/// both readers agree on every row this one accepts (a property test compares them on random files).
/// Not thread-safe: one parser per chunk in flight (the caches are the parser's).
/// </remarks>
internal sealed class ConsentCsvChunkParser
{
    /// <summary>More header columns than this are left to the sequential reader (the fields' positions live on the stack).</summary>
    internal const int MaxColumns = 64;

    /// <summary>Longest cell decoded on the stack; longer ones (only odd files have them) are decoded into a string.</summary>
    private const int MaxStackCellChars = 256;

    private readonly ConsentCsvLoader.Columns _columns;
    private readonly int _purposeCount;
    private readonly ulong _seed;
    private readonly ushort _stateMask;
    private readonly CellCache<ConsentState>[] _states;
    private readonly CellCache<bool> _gpc = new();
    private readonly CellCache<bool> _minor = new();
    private readonly Dictionary<byte[], uint>.AlternateLookup<ReadOnlySpan<byte>> _regionIds;
    private byte[] _scratch = new byte[256];

    internal ConsentCsvChunkParser(ConsentCsvLoader.Columns columns, int purposeCount, ulong seed)
    {
        _columns = columns;
        _purposeCount = purposeCount;
        _seed = seed;
        _stateMask = (ushort)((1 << (2 * purposeCount)) - 1);
        _states = new CellCache<ConsentState>[purposeCount];
        for (var p = 0; p < purposeCount; p++)
        {
            _states[p] = new CellCache<ConsentState>();
        }

        _regionIds = new Dictionary<byte[], uint>(ByteArrayComparer.Instance).GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>The normalized region of each id this parser handed out (id 0: no region).</summary>
    internal List<string?> Regions { get; } = [null];

    /// <summary>Data rows read (blank lines are not rows).</summary>
    internal int Rows { get; private set; }

    /// <summary>The newest <c>updated_at</c> read, the first of equal instants (as the sequential reader keeps it).</summary>
    internal DateTimeOffset? Newest { get; private set; }

    /// <summary>
    /// Reads the whole lines of <paramref name="text"/> into <paramref name="entries"/> from <see cref="Rows"/> on,
    /// numbering them from <paramref name="firstSequence"/>; false at the first row the sequential reader must judge.
    /// </summary>
    /// <param name="text">Whole lines (the last may lack its line feed); valid UTF-8, every CR before an LF.</param>
    /// <param name="entries">Room for one entry a line of <paramref name="text"/>.</param>
    /// <param name="firstSequence">The input position of the chunk's first row (rows of one user merge in input order).</param>
    internal bool TryParse(ReadOnlySpan<byte> text, Span<RowEntry> entries, long firstSequence)
    {
        var count = _columns.Count;
        if (count > MaxColumns)
        {
            return false;
        }

        Span<int> starts = stackalloc int[count + 1];
        while (!text.IsEmpty)
        {
            var line = NextLine(ref text);
            if (line.IsEmpty)
            {
                // A blank line holds no row (CsvRows skips it too).
                continue;
            }

            // Field i is line[starts[i]..(starts[i + 1] - 1)]: starts[count] is one past the line's end.
            if (line.Contains((byte)'"'))
            {
                var length = Unquote(line, starts);
                if (length < 0)
                {
                    return false;
                }

                line = _scratch.AsSpan(0, length);
            }
            else if (!TrySplit(line, starts))
            {
                return false;
            }

            if (!TryParseRow(line, starts, out entries[Rows]))
            {
                return false;
            }

            entries[Rows].Sequence = firstSequence + Rows;
            Rows++;
        }

        return true;
    }

    /// <summary>The next line of <paramref name="text"/> without its LF or CRLF, advancing <paramref name="text"/> past it.</summary>
    internal static ReadOnlySpan<byte> NextLine(ref ReadOnlySpan<byte> text)
    {
        var end = text.IndexOf((byte)'\n');
        var line = end < 0 ? text : text[..end];
        text = end < 0 ? [] : text[(end + 1)..];
        return !line.IsEmpty && line[^1] == (byte)'\r' ? line[..^1] : line;
    }

    /// <summary>Finds the fields of a line without quotes: exactly the header's number, split at each comma.</summary>
    private bool TrySplit(ReadOnlySpan<byte> line, Span<int> starts)
    {
        var count = _columns.Count;
        starts[0] = 0;
        var fields = 1;
        for (var comma = line.IndexOf((byte)','); comma >= 0; comma = line[starts[fields - 1]..].IndexOf((byte)','))
        {
            if (fields == count)
            {
                return false;
            }

            starts[fields] = starts[fields - 1] + comma + 1;
            fields++;
        }

        starts[count] = line.Length + 1;
        return fields == count;
    }

    /// <summary>
    /// Unquotes a line with quotes into the parser's scratch buffer, each field followed by a comma, as the sequential
    /// reader reads it: a quoted field (RFC 4180) starts and ends with a quote, a doubled quote inside stands for one.
    /// False for anything else — a quote inside an unquoted field, text after a closing quote, a quote left open at the
    /// end of the line (a field spanning lines: that file is the sequential reader's), or not the header's field count.
    /// </summary>
    /// <returns>The unquoted line's length in the scratch buffer, or -1 when the sequential reader must read the line.</returns>
    private int Unquote(ReadOnlySpan<byte> line, Span<int> starts)
    {
        var count = _columns.Count;
        if (_scratch.Length < line.Length + count)
        {
            _scratch = new byte[Math.Max(line.Length + count, _scratch.Length * 2)];
        }

        var output = _scratch.AsSpan();
        var written = 0;
        var at = 0;
        var fields = 0;
        while (true)
        {
            if (fields == count)
            {
                return -1;
            }

            starts[fields++] = written;
            var rest = line[at..];
            if (!rest.IsEmpty && rest[0] == (byte)'"')
            {
                at++;
                while (true)
                {
                    var quote = line[at..].IndexOf((byte)'"');
                    if (quote < 0)
                    {
                        return -1;
                    }

                    line.Slice(at, quote).CopyTo(output[written..]);
                    written += quote;
                    at += quote + 1;
                    if (at < line.Length && line[at] == (byte)'"')
                    {
                        output[written++] = (byte)'"';
                        at++;
                        continue;
                    }

                    break;
                }

                output[written++] = (byte)',';
                if (at == line.Length)
                {
                    break;
                }

                if (line[at] != (byte)',')
                {
                    return -1;
                }

                at++;
                continue;
            }

            var comma = rest.IndexOf((byte)',');
            var field = comma < 0 ? rest : rest[..comma];
            if (field.Contains((byte)'"'))
            {
                return -1;
            }

            field.CopyTo(output[written..]);
            written += field.Length;
            output[written++] = (byte)',';
            if (comma < 0)
            {
                break;
            }

            at += comma + 1;
        }

        starts[count] = written;
        return fields == count ? written : -1;
    }

    private bool TryParseRow(ReadOnlySpan<byte> line, ReadOnlySpan<int> starts, out RowEntry entry)
    {
        entry = default;
        var id = Cell(line, starts, _columns.UserId);
        if (id.IsEmpty)
        {
            return false;
        }

        var states = PurposeStates.AllUnset;
        for (var p = 0; p < _purposeCount; p++)
        {
            if (!_states[p].TryGet(Cell(line, starts, _columns.Purposes[p]), ConsentValues.TryParseState, out var state))
            {
                return false;
            }

            states = states.With(p, state);
        }

        var gpc = false;
        var minor = false;
        if ((_columns.Gpc >= 0 && !_gpc.TryGet(Cell(line, starts, _columns.Gpc), ConsentValues.TryParseBoolean, out gpc))
            || (_columns.Minor >= 0 && !_minor.TryGet(Cell(line, starts, _columns.Minor), ConsentValues.TryParseBoolean, out minor)))
        {
            return false;
        }

        var updatedTicks = RowEntry.Undated;
        if (_columns.UpdatedAt >= 0)
        {
            if (!TryParseTimestamp(Cell(line, starts, _columns.UpdatedAt), out var updatedAt))
            {
                return false;
            }

            if (updatedAt is { } ts)
            {
                updatedTicks = ts.UtcTicks;
                if (Newest is null || ts > Newest)
                {
                    Newest = ts;
                }
            }
        }

        var hash = XxHash128.HashToUInt128(id, (long)_seed);
        entry.High = (ulong)(hash >> 64);
        entry.Low = (ulong)hash;
        entry.UpdatedTicks = updatedTicks;
        entry.Region = _columns.Region >= 0 ? RegionId(Cell(line, starts, _columns.Region)) : 0;
        entry.States = (ushort)(states.Bits & _stateMask);
        entry.Flags = (byte)((gpc ? RowEntry.FlagGpc : 0) | (minor ? RowEntry.FlagMinor : 0));
        return true;
    }

    private static ReadOnlySpan<byte> Cell(ReadOnlySpan<byte> line, ReadOnlySpan<int> starts, int column) =>
        line[starts[column]..(starts[column + 1] - 1)];

    /// <summary>An <c>updated_at</c> cell as the sequential reader reads it: blank (Unicode white space) is undated.</summary>
    private static bool TryParseTimestamp(ReadOnlySpan<byte> cell, out DateTimeOffset? value)
    {
        value = null;
        if (cell.IsEmpty)
        {
            return true;
        }

        Span<char> buffer = stackalloc char[MaxStackCellChars];
        ReadOnlySpan<char> text = cell.Length <= MaxStackCellChars ? buffer[..Encoding.UTF8.GetChars(cell, buffer)] : Encoding.UTF8.GetString(cell);
        if (text.IsWhiteSpace())
        {
            return true;
        }

        if (!IsoTimestamp.TryParse(text, out var ts))
        {
            return false;
        }

        value = ts;
        return true;
    }

    /// <summary>The id of a region cell's normalized region (0 when blank), the same string for the same cell bytes.</summary>
    private uint RegionId(ReadOnlySpan<byte> cell)
    {
        if (cell.IsEmpty)
        {
            return 0;
        }

        if (_regionIds.TryGetValue(cell, out var id))
        {
            return id;
        }

        var normalized = RegionCode.Normalize(Encoding.UTF8.GetString(cell));
        if (normalized.Length == 0)
        {
            id = 0;
        }
        else
        {
            id = (uint)Regions.IndexOf(normalized);
            if ((int)id < 0)
            {
                id = (uint)Regions.Count;
                Regions.Add(normalized);
            }
        }

        _regionIds[cell] = id;
        return id;
    }

    /// <summary>The parsed values of a column's few distinct cells (consent columns repeat a handful of spellings).</summary>
    private sealed class CellCache<T>
    {
        private const int Capacity = 16;
        private readonly byte[][] _keys = new byte[Capacity][];
        private readonly T[] _values = new T[Capacity];
        private int _count;

        internal delegate bool Parse(ReadOnlySpan<char> text, out T value);

        internal bool TryGet(ReadOnlySpan<byte> cell, Parse parse, out T value)
        {
            for (var i = 0; i < _count; i++)
            {
                if (cell.SequenceEqual(_keys[i]))
                {
                    value = _values[i];
                    return true;
                }
            }

            Span<char> buffer = stackalloc char[MaxStackCellChars];
            ReadOnlySpan<char> text = cell.Length <= MaxStackCellChars ? buffer[..Encoding.UTF8.GetChars(cell, buffer)] : Encoding.UTF8.GetString(cell);
            if (!parse(text, out value))
            {
                return false;
            }

            if (_count < Capacity && cell.Length <= 64)
            {
                _keys[_count] = cell.ToArray();
                _values[_count++] = value;
            }

            return true;
        }
    }
}
