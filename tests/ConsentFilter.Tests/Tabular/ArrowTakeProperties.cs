using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using ConsentFilter.Parquet;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Tabular;

/// <summary>
/// The gather of kept rows against an oracle: each kept row sliced out by Apache.Arrow and rendered value by value.
/// Any batch (strings, large strings, integers, booleans, lists with null elements, structs with lists, dictionaries,
/// nulls everywhere, sliced input), any keep mask (runs of adjacent kept rows included): the same rows, and the
/// pooled buffers once given back do not change a gathered batch that is still alive.
/// </summary>
public sealed class ArrowTakeProperties
{
    [Property(MaxTest = 60)]
    public void AnyBatch_AnyMask_GatheredRowsEqualTheKeptRowsAsRead(int seed, byte rows, byte offset, byte keepPercent)
    {
        var random = new Random(seed);
        var length = rows % 97;
        var skip = offset % 5;
        using var full = RandomBatch(random, length + skip);
        var batch = skip == 0 ? full : Slice(full, skip, length);
        var keep = new bool[length];
        var kept = 0;
        for (var i = 0; i < length; i++)
        {
            // Runs: a kept row is often followed by another one.
            keep[i] = random.Next(100) < (i > 0 && keep[i - 1] ? 70 : keepPercent % 101);
            kept += keep[i] ? 1 : 0;
        }

        if (kept == 0)
        {
            return;
        }

        var expected = Enumerable.Range(0, length).Where(i => keep[i]).Select(i => Render(batch, i)).ToList();
        var buffers = new TakeBuffers();
        var gathered = ArrowTake.Filter(batch, keep, kept, buffers);
        Assert.Equal(kept, gathered.Length);
        Assert.Equal(expected, Enumerable.Range(0, kept).Select(i => Render(gathered, i)).ToList());

        // Another batch gathered and given back (as ColumnarBatch.Release does) must not touch this one's memory.
        var other = new TakeBuffers();
        _ = ArrowTake.Filter(batch, keep, kept, other);
        other.Return();
        Assert.Equal(expected, Enumerable.Range(0, kept).Select(i => Render(gathered, i)).ToList());
        buffers.Return();
    }

    private static RecordBatch Slice(RecordBatch batch, int offset, int length) =>
        new(batch.Schema, batch.Arrays.Select(a => ArrowArrayFactory.Slice(a, offset, length)), length);

    private static RecordBatch RandomBatch(Random random, int length)
    {
        string? Text() => random.Next(6) == 0 ? null : random.Next(4) == 0 ? string.Empty : new string('é', random.Next(3)) + random.Next(1000).ToString(CultureInfo.InvariantCulture) + new string('x', random.Next(40));

        var text = new StringArray.Builder();
        var large = new LargeStringArray.Builder();
        var numbers = new Int64Array.Builder();
        var flags = new BooleanArray.Builder();
        var list = new ListArray.Builder(StringType.Default);
        var listValues = (StringArray.Builder)list.ValueBuilder;
        var tags = new ListArray.Builder(Int32Type.Default);
        var tagValues = (Int32Array.Builder)tags.ValueBuilder;
        var inner = new StringArray.Builder();
        var structValidity = new List<bool>();
        var indices = new Int32Array.Builder();
        for (var i = 0; i < length; i++)
        {
            if (Text() is { } t)
            {
                text.Append(t);
            }
            else
            {
                text.AppendNull();
            }

            if (Text() is { } l)
            {
                large.Append(l);
            }
            else
            {
                large.AppendNull();
            }

            if (random.Next(5) == 0)
            {
                numbers.AppendNull();
            }
            else
            {
                numbers.Append(random.NextInt64(-1_000_000, 1_000_000));
            }

            if (random.Next(5) == 0)
            {
                flags.AppendNull();
            }
            else
            {
                flags.Append(random.Next(2) == 0);
            }

            if (random.Next(5) == 0)
            {
                list.AppendNull();
            }
            else
            {
                list.Append();
                for (var e = random.Next(4); e > 0; e--)
                {
                    if (Text() is { } v)
                    {
                        listValues.Append(v);
                    }
                    else
                    {
                        listValues.AppendNull();
                    }
                }
            }

            structValidity.Add(random.Next(6) != 0);
            if (Text() is { } s)
            {
                inner.Append(s);
            }
            else
            {
                inner.AppendNull();
            }

            tags.Append();
            for (var e = random.Next(3); e > 0; e--)
            {
                tagValues.Append(random.Next(100));
            }

            if (random.Next(5) == 0)
            {
                indices.AppendNull();
            }
            else
            {
                indices.Append(random.Next(3));
            }
        }

        var structType = new StructType([new Field("inner", StringType.Default, true), new Field("tags", new ListType(Int32Type.Default), true)]);
        var validity = new ArrowBuffer.BitmapBuilder();
        foreach (var v in structValidity)
        {
            validity.Append(v);
        }

        var nulls = structValidity.Count(v => !v);
        var group = new StructArray(structType, length, [inner.Build(), tags.Build()], nulls == 0 ? ArrowBuffer.Empty : validity.Build(), nulls);
        var dictionary = new StringArray.Builder().Append("DE").Append("US-CA").Append("fr").Build();
        var dictionaryType = new DictionaryType(Int32Type.Default, StringType.Default, false);
        var regions = new DictionaryArray(dictionaryType, indices.Build(), dictionary);
        var schema = new Schema.Builder()
            .Field(new Field("text", StringType.Default, true))
            .Field(new Field("large", LargeStringType.Default, true))
            .Field(new Field("number", Int64Type.Default, true))
            .Field(new Field("flag", BooleanType.Default, true))
            .Field(new Field("list", new ListType(StringType.Default), true))
            .Field(new Field("group", structType, true))
            .Field(new Field("region", dictionaryType, true))
            .Build();
        return new RecordBatch(schema, [text.Build(), large.Build(), numbers.Build(), flags.Build(), list.Build(), group, regions], length);
    }

    private static string Render(RecordBatch batch, int row)
    {
        var text = new StringBuilder();
        foreach (var column in batch.Arrays)
        {
            Render(column, row, text);
            text.Append(" | ");
        }

        return text.ToString();
    }

    private static void Render(IArrowArray array, int index, StringBuilder text)
    {
        if (array.IsNull(index))
        {
            text.Append("null");
            return;
        }

        switch (array)
        {
            case StringArray s:
                text.Append('"').Append(s.GetString(index)).Append('"');
                break;
            case LargeStringArray s:
                text.Append('"').Append(s.GetString(index)).Append('"');
                break;
            case Int64Array n:
                text.Append(n.GetValue(index));
                break;
            case Int32Array n:
                text.Append(n.GetValue(index));
                break;
            case BooleanArray b:
                text.Append(b.GetValue(index));
                break;
            case ListArray list:
                text.Append('[');
                for (var e = list.ValueOffsets[index]; e < list.ValueOffsets[index + 1]; e++)
                {
                    Render(list.Values, e, text);
                    text.Append(',');
                }

                text.Append(']');
                break;
            case StructArray group:
                text.Append('{');
                foreach (var field in group.Fields)
                {
                    // A struct's children are not sliced by the struct's offset.
                    Render(field, index + group.Offset - field.Offset, text);
                    text.Append(',');
                }

                text.Append('}');
                break;
            case DictionaryArray dictionary:
                Render(dictionary.Dictionary, ((Int32Array)dictionary.Indices).GetValue(index)!.Value, text);
                break;
            default:
                throw new NotSupportedException(array.Data.DataType.Name);
        }
    }
}
