using System.Globalization;
using System.Text;
using ConsentFilter.Records;
using Parquet;
using Parquet.Data;
using Parquet.Schema;

namespace ConsentFilter.Tabular;

/// <summary>One cell the decision reads from a Parquet column: its text, or why it has none.</summary>
/// <param name="Text">The value as text (strings as is, integers in decimal), or null with <paramref name="Error"/>.</param>
/// <param name="Error">Why the value cannot be read (a binary value that is not UTF-8).</param>
internal readonly record struct ParquetCell(string? Text, MalformedKind Error);

/// <summary>A column the decision reads, found by a dotted path through struct columns: a scalar or a list of scalars.</summary>
internal sealed class ParquetColumn
{
    private static readonly HashSet<Type> s_supported =
    [
        typeof(ReadOnlyMemory<char>), typeof(ReadOnlyMemory<byte>), typeof(sbyte), typeof(byte), typeof(short), typeof(ushort),
        typeof(int), typeof(uint), typeof(long), typeof(ulong),
    ];

    private ParquetColumn(DataField field, bool isList)
    {
        Field = field;
        IsList = isList;
    }

    internal DataField Field { get; }

    internal bool IsList { get; }

    /// <summary>Finds <paramref name="path"/>; null when absent (as an absent JSON field).</summary>
    /// <exception cref="DataFileException">The column exists but has a shape or type the decision cannot read.</exception>
    internal static ParquetColumn? Find(ParquetSchema schema, string path, bool allowList, bool allowIntegers, string file, string option)
    {
        IReadOnlyList<Field> fields = schema.Fields;
        var parts = path.Split('.');
        for (var i = 0; i < parts.Length; i++)
        {
            var field = fields.FirstOrDefault(f => string.Equals(f.Name, parts[i], StringComparison.Ordinal));
            if (field is null)
            {
                return null;
            }

            if (i < parts.Length - 1)
            {
                if (field is not StructField group)
                {
                    return null;
                }

                fields = group.Fields;
                continue;
            }

            var (data, isList) = field switch
            {
                DataField d => (d, d.MaxRepetitionLevel > 0),
                ListField { Item: DataField item } => (item, true),
                _ => (null, false),
            };
            if (data is null || (isList && !allowList) || data.MaxRepetitionLevel > 1)
            {
                throw new DataFileException(file, 0, 0, $"column '{path}' ({option}) must be a {(allowList ? "scalar or a list of scalars" : "scalar")} column");
            }

            var textOnly = !allowIntegers && data.ClrType != typeof(ReadOnlyMemory<char>) && data.ClrType != typeof(ReadOnlyMemory<byte>);
            if (!s_supported.Contains(data.ClrType) || textOnly)
            {
                throw new DataFileException(file, 0, 0,
                    $"column '{path}' ({option}) has values of type {data.ClrType.Name}; expected strings{(allowIntegers ? " or integers" : string.Empty)}");
            }

            return new ParquetColumn(data, isList);
        }

        return null;
    }

    /// <summary>Reads this column of a row group into cells per row.</summary>
    internal async Task<ParquetColumnCells> ReadAsync(ParquetRowGroupReader rowGroup, CancellationToken cancellationToken)
    {
        using var raw = await rowGroup.ReadRawColumnDataBaseAsync(Field, cancellationToken).ConfigureAwait(false);
        return ParquetColumnCells.From(Field, raw, checked((int)rowGroup.RowCount));
    }
}

/// <summary>A column's cells for each row of one row group: no cell (null or absent), one, or a list's elements.</summary>
/// <remarks>An element entry of null is a null list element (never a valid id).</remarks>
internal sealed class ParquetColumnCells
{
    private static readonly UTF8Encoding s_utf8 = new(false, true);

    private readonly ParquetCell?[] _entries;
    private readonly int[] _rowStart;

    private ParquetColumnCells(ParquetCell?[] entries, int[] rowStart)
    {
        _entries = entries;
        _rowStart = rowStart;
    }

    internal int Count(int row) => _rowStart[row + 1] - _rowStart[row];

    internal ParquetCell? this[int row, int index] => _entries[_rowStart[row] + index];

    internal static ParquetColumnCells From(DataField field, RawColumnData raw, int rowCount)
    {
        var values = Texts(raw);
        var maxDef = field.MaxDefinitionLevel;
        ReadOnlySpan<int> definitions = maxDef > 0 ? raw.DefinitionLevels : default;
        ReadOnlySpan<int> repetitions = field.MaxRepetitionLevel > 0 ? raw.RepetitionLevels : default;
        var levels = maxDef > 0 ? definitions.Length : field.MaxRepetitionLevel > 0 ? repetitions.Length : rowCount;
        var entries = new List<ParquetCell?>(levels);
        var rowStart = new int[rowCount + 1];
        var row = -1;
        var value = 0;
        for (var e = 0; e < levels; e++)
        {
            if (repetitions.IsEmpty || repetitions[e] == 0)
            {
                row++;
                if (row >= rowCount)
                {
                    throw new InvalidDataException($"column '{field.Path}' holds more rows than its row group ({rowCount})");
                }

                rowStart[row] = entries.Count;
            }

            var definition = maxDef > 0 ? definitions[e] : 0;
            if (definition == maxDef)
            {
                entries.Add(values[value++]);
            }
            else if (field.MaxRepetitionLevel > 0 && field.IsNullable && definition == maxDef - 1)
            {
                entries.Add(null);
            }

            rowStart[row + 1] = entries.Count;
        }

        if (row != rowCount - 1)
        {
            throw new InvalidDataException($"column '{field.Path}' holds {row + 1} rows, its row group {rowCount}");
        }

        return new ParquetColumnCells([.. entries], rowStart);
    }

    private static ParquetCell[] Texts(RawColumnData raw) => raw switch
    {
        RawColumnData<ReadOnlyMemory<char>> r => Map(r.Values, v => new ParquetCell(v.ToString(), MalformedKind.None)),
        RawColumnData<ReadOnlyMemory<byte>> r => Map(r.Values, Decode),
        RawColumnData<sbyte> r => Map(r.Values, v => Integer(v)),
        RawColumnData<byte> r => Map(r.Values, v => Integer(v)),
        RawColumnData<short> r => Map(r.Values, v => Integer(v)),
        RawColumnData<ushort> r => Map(r.Values, v => Integer(v)),
        RawColumnData<int> r => Map(r.Values, v => Integer(v)),
        RawColumnData<uint> r => Map(r.Values, v => Integer(v)),
        RawColumnData<long> r => Map(r.Values, v => Integer(v)),
        RawColumnData<ulong> r => Map(r.Values, v => Integer(v)),
        _ => throw new NotSupportedException($"unsupported Parquet column data {raw.GetType()}"),
    };

    private static ParquetCell Integer<T>(T value)
        where T : IFormattable => new(value.ToString(null, CultureInfo.InvariantCulture), MalformedKind.None);

    private static ParquetCell Decode(ReadOnlyMemory<byte> value)
    {
        try
        {
            return new ParquetCell(s_utf8.GetString(value.Span), MalformedKind.None);
        }
        catch (DecoderFallbackException)
        {
            return new ParquetCell(null, MalformedKind.InvalidUtf8);
        }
    }

    private static ParquetCell[] Map<T>(Span<T> values, Func<T, ParquetCell> map)
    {
        var result = new ParquetCell[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            result[i] = map(values[i]);
        }

        return result;
    }
}
