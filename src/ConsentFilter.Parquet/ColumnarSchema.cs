using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Parquet;

/// <summary>The schema a columnar output carries (the first input's), which every later input of the run must match.</summary>
internal sealed class ColumnarSchema(Schema schema)
{
    internal Schema Schema { get; } = schema;

    /// <summary>The schema's fields as text: names, types (with units, widths, nested fields) and nullability.</summary>
    internal string Text { get; } = Describe(schema);

    /// <summary>Parquet: each leaf column's dotted path and codec in the first input (the output keeps them).</summary>
    internal IReadOnlyList<(string Path, ParquetSharp.Compression Codec)> Codecs { get; init; } = [];

    /// <summary>Parquet: the dotted paths of the leaf columns the first input's first row group stores without a dictionary (the output does too).</summary>
    internal IReadOnlyList<string> PlainColumns { get; init; } = [];

    /// <summary>Arrow IPC: whether the first input was an IPC file (else a stream); the output is the same kind.</summary>
    internal bool IsIpcFile { get; init; }

    /// <summary>Sets the run's schema from the first input, or checks a later input's against it.</summary>
    /// <exception cref="DataFileException">The schema differs from the first input's.</exception>
    internal static void Check(RunFormatState run, ColumnarSchema schema, string name, string format)
    {
        if (run.Schema is null)
        {
            run.Schema = schema;
            run.SchemaSource = name;
            return;
        }

        if (!string.Equals(((ColumnarSchema)run.Schema).Text, schema.Text, StringComparison.Ordinal))
        {
            throw new DataFileException(name, 0, 0,
                $"the schema differs from the schema of {run.SchemaSource}; all {format} inputs into one output must share one schema");
        }
    }

    private static string Describe(Schema schema)
    {
        var text = new StringBuilder();
        foreach (var field in schema.FieldsList)
        {
            Describe(field, text);
            text.Append(';');
        }

        return text.ToString();
    }

    private static void Describe(Field field, StringBuilder text)
    {
        text.Append(field.Name).Append(field.IsNullable ? "?:" : ":");
        Describe(field.DataType, text);
    }

    private static void Describe(IArrowType type, StringBuilder text)
    {
        text.Append(type.TypeId);
        switch (type)
        {
            case TimestampType t:
                text.Append('(').Append(t.Unit).Append(',').Append(t.Timezone).Append(')');
                break;
            case TimeType t:
                text.Append('(').Append(t.Unit).Append(')');
                break;
            case DurationType t:
                text.Append('(').Append(t.Unit).Append(')');
                break;
            case Decimal128Type d:
                text.Append('(').Append(d.Precision).Append(',').Append(d.Scale).Append(')');
                break;
            case Decimal256Type d:
                text.Append('(').Append(d.Precision).Append(',').Append(d.Scale).Append(')');
                break;
            case FixedSizeBinaryType f:
                text.Append('(').Append(f.ByteWidth).Append(')');
                break;
            case DictionaryType d:
                text.Append('<');
                Describe(d.IndexType, text);
                text.Append(',');
                Describe(d.ValueType, text);
                text.Append('>');
                break;
            case NestedType nested:
                text.Append('<');
                foreach (var child in nested.Fields)
                {
                    Describe(child, text);
                    text.Append(',');
                }

                text.Append('>');
                break;
        }
    }
}
