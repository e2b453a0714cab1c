using System.Buffers.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Parquet;

/// <summary>Where the columns the decision reads sit in one input's Arrow schema (a dotted path walks into struct columns).</summary>
internal sealed class DecisionColumns
{
    private DecisionColumns(ColumnPath user, ColumnPath? region, ColumnPath? id, ColumnPath[] subjects, bool hasDictionary)
    {
        User = user;
        Region = region;
        Id = id;
        Subjects = subjects;
        HasDictionary = hasDictionary;
    }

    /// <summary>
    /// Whether the schema holds a dictionary column. Apache.Arrow's IPC reader gives every batch of a stream the same
    /// dictionary, and disposing any array that holds it disposes it for all: such batches are left to the collector.
    /// </summary>
    internal bool HasDictionary { get; }

    internal ColumnPath User { get; }

    internal ColumnPath? Region { get; }

    internal ColumnPath? Id { get; }

    internal ColumnPath[] Subjects { get; }

    /// <summary>Finds the decision columns of <paramref name="schema"/>.</summary>
    /// <exception cref="DataFileException">The user column is missing, or a decision column has a type the decision cannot read.</exception>
    internal static DecisionColumns Resolve(Schema schema, ConsentFilterOptions options, string file)
    {
        var user = ColumnPath.Find(schema, options.UserField, allowList: false, allowIntegers: true, file, "user field")
            ?? throw new DataFileException(file, 0, 0, $"the schema has no user id column '{options.UserField}' (set the user field to the column's name)");
        var region = ColumnPath.Find(schema, options.RegionField, allowList: false, allowIntegers: false, file, "region field");
        var id = ColumnPath.Find(schema, options.IdField, allowList: false, allowIntegers: true, file, "id field");
        var subjects = options.SubjectFields
            .Select(f => ColumnPath.Find(schema, f, allowList: true, allowIntegers: true, file, "subject field"))
            .OfType<ColumnPath>()
            .ToArray();
        return new DecisionColumns(user, region, id, subjects, schema.FieldsList.Any(f => IsOrHoldsDictionary(f.DataType)));
    }

    private static bool IsOrHoldsDictionary(IArrowType type) => type switch
    {
        DictionaryType => true,
        NestedType nested => nested.Fields.Any(f => IsOrHoldsDictionary(f.DataType)),
        _ => false,
    };
}

/// <summary>A decision column: the field indices from the top-level column down through struct columns, and whether it is a list.</summary>
internal sealed class ColumnPath
{
    private ColumnPath(string name, int[] indices, bool isList)
    {
        Name = name;
        Indices = indices;
        IsList = isList;
    }

    internal string Name { get; }

    internal int[] Indices { get; }

    internal bool IsList { get; }

    /// <summary>Finds <paramref name="path"/>; null when absent (as an absent JSON field).</summary>
    /// <exception cref="DataFileException">The column exists with a type or shape the decision cannot read.</exception>
    internal static ColumnPath? Find(Schema schema, string path, bool allowList, bool allowIntegers, string file, string option)
    {
        IReadOnlyList<Field> fields = schema.FieldsList;
        var parts = path.Split('.');
        var indices = new int[parts.Length];
        for (var level = 0; level < parts.Length; level++)
        {
            var index = -1;
            for (var f = 0; f < fields.Count; f++)
            {
                if (string.Equals(fields[f].Name, parts[level], StringComparison.Ordinal))
                {
                    index = f;
                    break;
                }
            }

            if (index < 0)
            {
                return null;
            }

            // A decision column named twice (SPEC 2.1's duplicate key, in a schema): reading the first would ignore the
            // other — a second region that is excluded, a second user who revoked. Every row would be malformed, so the
            // input is refused, as a CSV header naming a read column twice is. (The id is not read for the decision.)
            if (option != "id field" && fields.Skip(index + 1).Any(f => string.Equals(f.Name, parts[level], StringComparison.Ordinal)))
            {
                throw new DataFileException(file, 0, 0,
                    $"column '{string.Join('.', parts[..(level + 1)])}' appears more than once; it is on the {option} path '{path}', so which one counts cannot be told");
            }

            indices[level] = index;
            var type = fields[index].DataType;
            if (level < parts.Length - 1)
            {
                if (type is not StructType group)
                {
                    return null;
                }

                fields = group.Fields;
                continue;
            }

            var isList = type is ListType or LargeListType;
            var element = type switch
            {
                ListType list => list.ValueDataType,
                LargeListType list => list.ValueDataType,
                _ => type,
            };
            if ((isList && !allowList) || !IsScalar(element, allowIntegers))
            {
                throw new DataFileException(file, 0, 0,
                    $"column '{path}' ({option}) has type {Describe(type)}; expected {(allowIntegers ? "strings or integers" : "strings")}{(allowList ? " or a list of them" : string.Empty)}");
            }

            return new ColumnPath(path, indices, isList);
        }

        return null;
    }

    private static bool IsScalar(IArrowType type, bool allowIntegers) => type switch
    {
        StringType or LargeStringType or BinaryType or LargeBinaryType => true,
        DictionaryType dictionary => dictionary.ValueType is StringType or LargeStringType or BinaryType or LargeBinaryType,
        Int8Type or Int16Type or Int32Type or Int64Type or UInt8Type or UInt16Type or UInt32Type or UInt64Type => allowIntegers,
        _ => false,
    };

    private static string Describe(IArrowType type) => type switch
    {
        ListType list => $"list<{Describe(list.ValueDataType)}>",
        LargeListType list => $"large_list<{Describe(list.ValueDataType)}>",
        _ => type.Name,
    };

    /// <summary>The column's array in <paramref name="batch"/> and the struct arrays above it.</summary>
    internal ColumnCells Cells(Apache.Arrow.RecordBatch batch)
    {
        var array = batch.Column(Indices[0]);
        var parents = new StructArray[Indices.Length - 1];
        for (var level = 1; level < Indices.Length; level++)
        {
            var group = (StructArray)array;
            parents[level - 1] = group;
            array = group.Fields[Indices[level]];
        }

        return new ColumnCells(parents, array, IsList);
    }
}

/// <summary>What a cell holds.</summary>
internal enum CellState
{
    /// <summary>Null (or absent through a null struct).</summary>
    Null,

    /// <summary>A value: UTF-8 text (integers in decimal).</summary>
    Value,

    /// <summary>A string or binary value that is not UTF-8.</summary>
    InvalidUtf8,
}

/// <summary>Reads one decision column of one batch, row by row.</summary>
internal sealed class ColumnCells(StructArray[] parents, IArrowArray array, bool isList)
{
    /// <summary>The index of <paramref name="row"/> in the column's own array, or -1 when a struct above it is null.</summary>
    private int Locate(int row)
    {
        var index = row;
        foreach (var parent in parents)
        {
            if (parent.IsNull(index))
            {
                return -1;
            }

            // A struct's children are not sliced by the struct's offset.
            index += parent.Offset;
        }

        return index;
    }

    /// <summary>A scalar column's cell; the span is valid until the next read with the same scratch buffer.</summary>
    internal CellState Scalar(int row, ref byte[] scratch, out ReadOnlySpan<byte> value)
    {
        var index = Locate(row);
        if (index < 0)
        {
            value = default;
            return CellState.Null;
        }

        return Read(array, index, ref scratch, out value);
    }

    /// <summary>A list column's element range (start, end) in <see cref="Elements"/>; false for a null list.</summary>
    internal bool List(int row, out long start, out long end)
    {
        start = end = 0;
        var index = Locate(row);
        if (index < 0 || array.IsNull(index))
        {
            return false;
        }

        switch (array)
        {
            case ListArray list:
                start = list.ValueOffsets[index];
                end = list.ValueOffsets[index + 1];
                return true;
            case LargeListArray list:
                start = list.ValueOffsets[index];
                end = list.ValueOffsets[index + 1];
                return true;
            default:
                throw new InvalidOperationException($"not a list column: {array.Data.DataType.Name}");
        }
    }

    internal bool IsList => isList;

    /// <summary>The elements of a list column.</summary>
    internal IArrowArray Elements => array switch
    {
        ListArray list => list.Values,
        LargeListArray list => list.Values,
        _ => throw new InvalidOperationException("not a list column"),
    };

    /// <summary>Reads element <paramref name="index"/> of a scalar array (strings as bytes, integers as decimal text).</summary>
    internal static CellState Read(IArrowArray values, long index, ref byte[] scratch, out ReadOnlySpan<byte> value)
    {
        value = default;
        var i = checked((int)index);
        if (values.IsNull(i))
        {
            return CellState.Null;
        }

        switch (values)
        {
            case BinaryArray binary:
                value = binary.GetBytes(i);
                return Text(value);
            case LargeStringArray text:
                value = text.GetBytes(i);
                return Text(value);
            case LargeBinaryArray binary:
                value = binary.GetBytes(i);
                return Text(value);
            case DictionaryArray dictionary:
                return Read(dictionary.Dictionary, DictionaryIndex(dictionary.Indices, i), ref scratch, out value);
            default:
                if (scratch.Length < 24)
                {
                    scratch = new byte[24];
                }

                var written = Integer(values, i, scratch);
                value = scratch.AsSpan(0, written);
                return CellState.Value;
        }
    }

    private static CellState Text(ReadOnlySpan<byte> value) =>
        Internal.Utf8Validator.IsValid(value) ? CellState.Value : CellState.InvalidUtf8;

    private static long DictionaryIndex(IArrowArray indices, int i) => indices switch
    {
        Int8Array a => a.GetValue(i)!.Value,
        Int16Array a => a.GetValue(i)!.Value,
        Int32Array a => a.GetValue(i)!.Value,
        Int64Array a => a.GetValue(i)!.Value,
        UInt8Array a => a.GetValue(i)!.Value,
        UInt16Array a => a.GetValue(i)!.Value,
        UInt32Array a => a.GetValue(i)!.Value,
        UInt64Array a => checked((long)a.GetValue(i)!.Value),
        _ => throw new InvalidDataException($"dictionary indices of type {indices.Data.DataType.Name}"),
    };

    private static int Integer(IArrowArray values, int i, Span<byte> output)
    {
        var ok = values switch
        {
            Int8Array a => Utf8Formatter.TryFormat(a.GetValue(i)!.Value, output, out var n) ? n : -1,
            Int16Array a => Utf8Formatter.TryFormat(a.GetValue(i)!.Value, output, out var n) ? n : -1,
            Int32Array a => Utf8Formatter.TryFormat(a.GetValue(i)!.Value, output, out var n) ? n : -1,
            Int64Array a => Utf8Formatter.TryFormat(a.GetValue(i)!.Value, output, out var n) ? n : -1,
            UInt8Array a => Utf8Formatter.TryFormat(a.GetValue(i)!.Value, output, out var n) ? n : -1,
            UInt16Array a => Utf8Formatter.TryFormat(a.GetValue(i)!.Value, output, out var n) ? n : -1,
            UInt32Array a => Utf8Formatter.TryFormat(a.GetValue(i)!.Value, output, out var n) ? n : -1,
            UInt64Array a => Utf8Formatter.TryFormat(a.GetValue(i)!.Value, output, out var n) ? n : -1,
            _ => throw new InvalidDataException($"a decision column of type {values.Data.DataType.Name}"),
        };
        return ok >= 0 ? ok : throw new InvalidOperationException("integer text longer than its buffer");
    }
}
