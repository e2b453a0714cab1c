using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace ConsentFilter.Parquet;

/// <summary>
/// Gathers the kept rows of a record batch into a new batch of the same schema: every column, values, nulls, lists,
/// structs and dictionary indices as they were. Apache.Arrow for .NET has no compute kernels, so this is our own
/// <c>filter</c>; a type it does not gather directly is copied as slices of kept runs, concatenated.
/// </summary>
internal static class ArrowTake
{
    internal static Apache.Arrow.RecordBatch Filter(Apache.Arrow.RecordBatch batch, bool[] keep, int kept)
    {
        var indices = new int[kept];
        for (int i = 0, k = 0; i < keep.Length; i++)
        {
            if (keep[i])
            {
                indices[k++] = i;
            }
        }

        var columns = new IArrowArray[batch.ColumnCount];
        for (var c = 0; c < columns.Length; c++)
        {
            var column = batch.Column(c);
            columns[c] = ArrowArrayFactory.BuildArray(Take(column.Data, indices) ?? Slices(column, keep));
        }

        return new Apache.Arrow.RecordBatch(batch.Schema, columns, kept);
    }

    /// <summary>Rows <paramref name="indices"/> (relative to the array's offset) of <paramref name="data"/>, or null for a type gathered by slices.</summary>
    private static ArrayData? Take(ArrayData data, int[] indices)
    {
        switch (data.DataType)
        {
            case BooleanType:
                {
                    var (validity, nulls) = Validity(data, indices);
                    var source = data.Buffers[1].Span;
                    var bits = new byte[(indices.Length + 7) / 8];
                    for (var k = 0; k < indices.Length; k++)
                    {
                        if (BitUtility.GetBit(source, data.Offset + indices[k]))
                        {
                            BitUtility.SetBit(bits, k);
                        }
                    }

                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, new ArrowBuffer(bits)]);
                }

            case DictionaryType dictionary:
                {
                    var (validity, nulls) = Validity(data, indices);
                    var values = Fixed(data, indices, ((FixedWidthType)dictionary.IndexType).BitWidth / 8);
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, values], null, data.Dictionary);
                }

            case FixedWidthType fixedWidth when fixedWidth.BitWidth % 8 == 0 && data.Buffers.Length == 2:
                {
                    var (validity, nulls) = Validity(data, indices);
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, Fixed(data, indices, fixedWidth.BitWidth / 8)]);
                }

            case StringType or BinaryType:
                {
                    var (validity, nulls) = Validity(data, indices);
                    var (offsets, bytes) = Variable<int>(data, indices);
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, offsets, bytes]);
                }

            case LargeStringType or LargeBinaryType:
                {
                    var (validity, nulls) = Validity(data, indices);
                    var (offsets, bytes) = Variable<long>(data, indices);
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, offsets, bytes]);
                }

            case ListType or MapType:
                {
                    var source = MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span);
                    var offsets = new int[indices.Length + 1];
                    var children = new List<int>();
                    for (var k = 0; k < indices.Length; k++)
                    {
                        var i = data.Offset + indices[k];
                        for (var c = source[i]; c < source[i + 1]; c++)
                        {
                            children.Add(c);
                        }

                        offsets[k + 1] = children.Count;
                    }

                    var child = Take(data.Children[0], [.. children]);
                    if (child is null)
                    {
                        return null;
                    }

                    var (validity, nulls) = Validity(data, indices);
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, Buffer(offsets)], [child]);
                }

            case StructType:
                {
                    var shifted = new int[indices.Length];
                    for (var k = 0; k < indices.Length; k++)
                    {
                        shifted[k] = data.Offset + indices[k];
                    }

                    var children = new ArrayData[data.Children.Length];
                    for (var c = 0; c < children.Length; c++)
                    {
                        if (Take(data.Children[c], shifted) is not { } child)
                        {
                            return null;
                        }

                        children[c] = child;
                    }

                    var (validity, nulls) = Validity(data, indices);
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity], children);
                }

            default:
                return null;
        }
    }

    private static ArrowBuffer Fixed(ArrayData data, int[] indices, int width)
    {
        var source = data.Buffers[1].Span;
        var values = new byte[indices.Length * width];
        switch (width)
        {
            case 4:
                {
                    var from = MemoryMarshal.Cast<byte, int>(source);
                    var to = MemoryMarshal.Cast<byte, int>(values.AsSpan());
                    for (var k = 0; k < indices.Length; k++)
                    {
                        to[k] = from[data.Offset + indices[k]];
                    }

                    break;
                }

            case 8:
                {
                    var from = MemoryMarshal.Cast<byte, long>(source);
                    var to = MemoryMarshal.Cast<byte, long>(values.AsSpan());
                    for (var k = 0; k < indices.Length; k++)
                    {
                        to[k] = from[data.Offset + indices[k]];
                    }

                    break;
                }

            default:
                for (var k = 0; k < indices.Length; k++)
                {
                    source.Slice((data.Offset + indices[k]) * width, width).CopyTo(values.AsSpan(k * width));
                }

                break;
        }

        return new ArrowBuffer(values);
    }

    private static (ArrowBuffer Offsets, ArrowBuffer Bytes) Variable<T>(ArrayData data, int[] indices)
        where T : struct, System.Numerics.IBinaryInteger<T>
    {
        var source = MemoryMarshal.Cast<byte, T>(data.Buffers[1].Span);
        var bytes = data.Buffers[2].Span;
        var offsets = new T[indices.Length + 1];
        long size = 0;
        for (var k = 0; k < indices.Length; k++)
        {
            var i = data.Offset + indices[k];
            size += long.CreateChecked(source[i + 1] - source[i]);
            offsets[k + 1] = T.CreateChecked(size);
        }

        var values = new byte[size];
        for (var k = 0; k < indices.Length; k++)
        {
            var i = data.Offset + indices[k];
            var start = long.CreateChecked(source[i]);
            var length = long.CreateChecked(source[i + 1] - source[i]);
            bytes.Slice(checked((int)start), checked((int)length)).CopyTo(values.AsSpan(checked((int)long.CreateChecked(offsets[k]))));
        }

        return (new ArrowBuffer(MemoryMarshal.AsBytes(offsets.AsSpan()).ToArray()), new ArrowBuffer(values));
    }

    private static ArrowBuffer Buffer(int[] values) => new(MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    private static (ArrowBuffer Validity, int Nulls) Validity(ArrayData data, int[] indices)
    {
        if (data.Buffers.Length == 0 || data.Buffers[0].IsEmpty || data.NullCount == 0)
        {
            return (ArrowBuffer.Empty, 0);
        }

        var source = data.Buffers[0].Span;
        var bits = new byte[(indices.Length + 7) / 8];
        var nulls = 0;
        for (var k = 0; k < indices.Length; k++)
        {
            if (BitUtility.GetBit(source, data.Offset + indices[k]))
            {
                BitUtility.SetBit(bits, k);
            }
            else
            {
                nulls++;
            }
        }

        return (new ArrowBuffer(bits), nulls);
    }

    /// <summary>The kept rows as slices of consecutive kept rows, concatenated (any type Apache.Arrow can concatenate).</summary>
    private static ArrayData Slices(IArrowArray column, bool[] keep)
    {
        var parts = new List<IArrowArray>();
        var start = -1;
        for (var i = 0; i <= keep.Length; i++)
        {
            var kept = i < keep.Length && keep[i];
            if (kept && start < 0)
            {
                start = i;
            }
            else if (!kept && start >= 0)
            {
                parts.Add(ArrowArrayFactory.Slice(column, start, i - start));
                start = -1;
            }
        }

        return ArrowArrayConcatenator.Concatenate(parts).Data;
    }
}
