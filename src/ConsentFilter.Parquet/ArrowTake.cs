using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace ConsentFilter.Parquet;

/// <summary>
/// Gathers the kept rows of a record batch into a new batch of the same schema: every column, values, nulls, lists,
/// structs and dictionary indices as they were. Apache.Arrow for .NET has no compute kernels, so this is our own
/// <c>filter</c>; a type it does not gather directly is copied as slices of kept runs, concatenated. The gathered
/// buffers come from <see cref="TakeBuffers"/> and are valid until the batch is released.
/// </summary>
internal static class ArrowTake
{
    internal static Apache.Arrow.RecordBatch Filter(Apache.Arrow.RecordBatch batch, bool[] keep, int kept, TakeBuffers buffers)
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
            columns[c] = ArrowArrayFactory.BuildArray(Take(column.Data, indices, buffers) ?? Slices(column, keep, buffers));
        }

        return new Apache.Arrow.RecordBatch(batch.Schema, columns, kept);
    }

    /// <summary>Rows <paramref name="indices"/> (relative to the array's offset) of <paramref name="data"/>, or null for a type gathered by slices.</summary>
    private static ArrayData? Take(ArrayData data, int[] indices, TakeBuffers buffers)
    {
        switch (data.DataType)
        {
            case BooleanType:
                {
                    var (validity, nulls) = Validity(data, indices, buffers);
                    var source = data.Buffers[1].Span;
                    var bits = buffers.Rent((indices.Length + 7) / 8, clear: true);
                    var span = bits.Span;
                    for (var k = 0; k < indices.Length; k++)
                    {
                        if (BitUtility.GetBit(source, data.Offset + indices[k]))
                        {
                            BitUtility.SetBit(span, k);
                        }
                    }

                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, TakeBuffers.Buffer(bits)]);
                }

            case DictionaryType dictionary:
                {
                    var (validity, nulls) = Validity(data, indices, buffers);
                    var values = Fixed(data, indices, ((FixedWidthType)dictionary.IndexType).BitWidth / 8, buffers);
                    buffers.SharesInput = true;
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, values], null, data.Dictionary);
                }

            case FixedWidthType fixedWidth when fixedWidth.BitWidth % 8 == 0 && data.Buffers.Length == 2:
                {
                    var (validity, nulls) = Validity(data, indices, buffers);
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, Fixed(data, indices, fixedWidth.BitWidth / 8, buffers)]);
                }

            case StringType or BinaryType:
                {
                    var (validity, nulls) = Validity(data, indices, buffers);
                    var (offsets, bytes) = Variable<int>(data, indices, buffers);
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, offsets, bytes]);
                }

            case LargeStringType or LargeBinaryType:
                {
                    var (validity, nulls) = Validity(data, indices, buffers);
                    var (offsets, bytes) = Variable<long>(data, indices, buffers);
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, offsets, bytes]);
                }

            case ListType or MapType:
                {
                    var source = MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span);
                    var count = 0;
                    for (var k = 0; k < indices.Length; k++)
                    {
                        var i = data.Offset + indices[k];
                        count += source[i + 1] - source[i];
                    }

                    var offsetBytes = buffers.Rent((indices.Length + 1) * sizeof(int), clear: false);
                    var offsets = MemoryMarshal.Cast<byte, int>(offsetBytes.Span);
                    var children = new int[count];
                    offsets[0] = 0;
                    for (int k = 0, n = 0; k < indices.Length; k++)
                    {
                        var i = data.Offset + indices[k];
                        for (var c = source[i]; c < source[i + 1]; c++)
                        {
                            children[n++] = c;
                        }

                        offsets[k + 1] = n;
                    }

                    var child = Take(data.Children[0], children, buffers);
                    if (child is null)
                    {
                        return null;
                    }

                    var (validity, nulls) = Validity(data, indices, buffers);
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity, TakeBuffers.Buffer(offsetBytes)], [child]);
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
                        if (Take(data.Children[c], shifted, buffers) is not { } child)
                        {
                            return null;
                        }

                        children[c] = child;
                    }

                    var (validity, nulls) = Validity(data, indices, buffers);
                    return new ArrayData(data.DataType, indices.Length, nulls, 0, [validity], children);
                }

            default:
                return null;
        }
    }

    private static ArrowBuffer Fixed(ArrayData data, int[] indices, int width, TakeBuffers buffers)
    {
        var source = data.Buffers[1].Span;
        var memory = buffers.Rent(indices.Length * width, clear: false);
        var values = memory.Span;
        switch (width)
        {
            case 4:
                {
                    var from = MemoryMarshal.Cast<byte, int>(source);
                    var to = MemoryMarshal.Cast<byte, int>(values);
                    for (var k = 0; k < indices.Length; k++)
                    {
                        to[k] = from[data.Offset + indices[k]];
                    }

                    break;
                }

            case 8:
                {
                    var from = MemoryMarshal.Cast<byte, long>(source);
                    var to = MemoryMarshal.Cast<byte, long>(values);
                    for (var k = 0; k < indices.Length; k++)
                    {
                        to[k] = from[data.Offset + indices[k]];
                    }

                    break;
                }

            default:
                for (var k = 0; k < indices.Length; k++)
                {
                    source.Slice((data.Offset + indices[k]) * width, width).CopyTo(values[(k * width)..]);
                }

                break;
        }

        return TakeBuffers.Buffer(memory);
    }

    /// <remarks>Runs of consecutive kept rows are copied as one block (kept rows cluster).</remarks>
    private static (ArrowBuffer Offsets, ArrowBuffer Bytes) Variable<T>(ArrayData data, int[] indices, TakeBuffers buffers)
        where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        var source = MemoryMarshal.Cast<byte, T>(data.Buffers[1].Span);
        var bytes = data.Buffers[2].Span;
        var offsetMemory = buffers.Rent(checked((indices.Length + 1) * System.Runtime.CompilerServices.Unsafe.SizeOf<T>()), clear: false);
        var offsets = MemoryMarshal.Cast<byte, T>(offsetMemory.Span);
        offsets[0] = T.Zero;
        long size = 0;
        for (var k = 0; k < indices.Length; k++)
        {
            var i = data.Offset + indices[k];
            size += long.CreateChecked(source[i + 1] - source[i]);
            offsets[k + 1] = T.CreateChecked(size);
        }

        var valueMemory = buffers.Rent(checked((int)size), clear: false);
        var values = valueMemory.Span;
        for (var k = 0; k < indices.Length;)
        {
            // Extend the run while the next kept row follows this one in the input.
            var first = data.Offset + indices[k];
            var last = first;
            var to = checked((int)long.CreateChecked(offsets[k]));
            k++;
            while (k < indices.Length && data.Offset + indices[k] == last + 1)
            {
                last++;
                k++;
            }

            var start = checked((int)long.CreateChecked(source[first]));
            var end = checked((int)long.CreateChecked(source[last + 1]));
            bytes[start..end].CopyTo(values[to..]);
        }

        return (TakeBuffers.Buffer(offsetMemory), TakeBuffers.Buffer(valueMemory));
    }

    private static (ArrowBuffer Validity, int Nulls) Validity(ArrayData data, int[] indices, TakeBuffers buffers)
    {
        if (data.Buffers.Length == 0 || data.Buffers[0].IsEmpty || data.NullCount == 0)
        {
            return (ArrowBuffer.Empty, 0);
        }

        var source = data.Buffers[0].Span;
        var memory = buffers.Rent((indices.Length + 7) / 8, clear: true);
        var bits = memory.Span;
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

        return (TakeBuffers.Buffer(memory), nulls);
    }

    /// <summary>The kept rows as slices of consecutive kept rows, concatenated (any type Apache.Arrow can concatenate).</summary>
    private static ArrayData Slices(IArrowArray column, bool[] keep, TakeBuffers buffers)
    {
        // One slice comes back as itself, a view of the input's memory.
        buffers.SharesInput = true;
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
