using System.Text.Json;
using System.Text.Unicode;
using ConsentFilter.Records;

namespace ConsentFilter.Tests.Records;

/// <summary>
/// The parser as it was before the hand-written scanner: one <see cref="Utf8JsonReader"/> pass (the strict reader of
/// .NET) feeding the same field capture, then the production field checks. Kept as the oracle the new scanner must
/// agree with on every line (<see cref="JsonLineScannerEquivalenceTests"/>).
/// </summary>
internal static class ReaderBasedLineParser
{
    private const int Untracked = -1;
    private const int ArrayBase = -2;

    private static readonly JsonReaderOptions s_readerOptions = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = int.MaxValue,
    };

    internal static MalformedKind Parse(ReadOnlySpan<byte> line, LineFields fields)
    {
        fields.Reset();
        if (!Utf8.IsValid(line))
        {
            return MalformedKind.InvalidUtf8;
        }

        var structure = Scan(line, fields);
        return structure != MalformedKind.None ? structure : JsonLineParser.CheckFields(line, fields);
    }

    private static MalformedKind Scan(ReadOnlySpan<byte> line, LineFields fields)
    {
        var paths = fields.Paths;
        var reader = new Utf8JsonReader(line, isFinalBlock: true, new JsonReaderState(s_readerOptions));
        var context = new ContextStack();
        var depth = 0;
        var maxDepth = 0;
        var pendingNode = Untracked;
        var rootIsObject = false;
        try
        {
            if (!reader.Read())
            {
                return MalformedKind.InvalidJson;
            }

            rootIsObject = reader.TokenType == JsonTokenType.StartObject;
            do
            {
                var token = reader.TokenType;
                switch (token)
                {
                    case JsonTokenType.PropertyName:
                        pendingNode = FindChild(ref reader, paths, context.Peek());
                        if (pendingNode >= 0)
                        {
                            fields.NodeCounts[pendingNode]++;
                        }

                        continue;

                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        depth--;
                        context.Pop();
                        continue;
                }

                // A value (scalar or container start).
                var parent = context.Peek();
                int pushed = Untracked;
                if (pendingNode >= 0)
                {
                    var node = paths[pendingNode];
                    if (node.Field >= 0)
                    {
                        fields.Values[node.Field] = Capture(ref reader);
                        if (token == JsonTokenType.StartArray && node.Field >= FieldPaths.FirstSubjectField)
                        {
                            fields.ArrayElements[node.Field].Clear();
                            fields.ArrayHasBadElement[node.Field] = false;
                            pushed = ArrayBase - node.Field;
                        }
                    }

                    if (token == JsonTokenType.StartObject && node.Children.Count > 0)
                    {
                        pushed = node.Id;
                    }
                }
                else if (parent <= ArrayBase)
                {
                    var field = ArrayBase - parent;
                    if (token is JsonTokenType.String or JsonTokenType.Number)
                    {
                        // Capture one past the limit at most, so a record with a million co-subjects costs no memory.
                        if (fields.ArrayElements[field].Count <= paths.MaxSubjects)
                        {
                            fields.ArrayElements[field].Add(Capture(ref reader));
                        }
                    }
                    else
                    {
                        fields.ArrayHasBadElement[field] = true;
                    }
                }
                else if (depth == 0 && token == JsonTokenType.StartObject)
                {
                    pushed = 0;
                }

                pendingNode = Untracked;
                if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    depth++;
                    maxDepth = Math.Max(maxDepth, depth);
                    context.Push(pushed);
                }
            }
            while (reader.Read());
        }
        catch (JsonException)
        {
            return MalformedKind.InvalidJson;
        }

        return !rootIsObject ? MalformedKind.NotObject
            : maxDepth > JsonLineParser.MaxNestingDepth ? MalformedKind.TooDeep
            : MalformedKind.None;
    }

    private static int FindChild(ref Utf8JsonReader reader, FieldPaths paths, int container)
    {
        if (container < 0)
        {
            return Untracked;
        }

        foreach (var child in paths[container].Children)
        {
            if (NameEquals(ref reader, child.Name))
            {
                return child.Id;
            }
        }

        return Untracked;
    }

    /// <summary>Compares a property name, escapes decoded, with a field segment.</summary>
    /// <remarks>
    /// A name with a lone-surrogate escape (<c>"\ud800"</c>) is legal JSON but not text; the reader refuses to compare it.
    /// Such a name equals no field segment (segments are valid text), so it is simply not a field the decision reads.
    /// </remarks>
    private static bool NameEquals(ref Utf8JsonReader reader, byte[] name)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan.SequenceEqual(name);
        }

        try
        {
            return reader.ValueTextEquals(name);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static JsonValueRef Capture(ref Utf8JsonReader reader)
    {
        var start = (int)reader.TokenStartIndex;
        return reader.TokenType == JsonTokenType.String
            ? new JsonValueRef(JsonTokenType.String, start + 1, reader.ValueSpan.Length, reader.ValueIsEscaped)
            : new JsonValueRef(reader.TokenType, start, reader.TokenType == JsonTokenType.Number ? reader.ValueSpan.Length : 0, false);
    }

    /// <summary>A growable stack of container markers that allocates only past 64 levels.</summary>
    private ref struct ContextStack
    {
        private int[]? _overflow;
        private InlineStack _inline;
        private int _count;

        public readonly int Peek() => _count == 0 ? Untracked : _count <= InlineStack.Size ? _inline[_count - 1] : _overflow![_count - 1];

        public void Push(int value)
        {
            if (_count < InlineStack.Size)
            {
                _inline[_count++] = value;
                return;
            }

            if (_overflow is null || _overflow.Length == _count)
            {
                var grown = new int[Math.Max(InlineStack.Size * 4, _count * 2)];
                if (_overflow is null)
                {
                    ((ReadOnlySpan<int>)_inline).CopyTo(grown);
                }
                else
                {
                    _overflow.CopyTo(grown, 0);
                }

                _overflow = grown;
            }

            _overflow[_count++] = value;
        }

        public void Pop()
        {
            if (_count > 0)
            {
                _count--;
            }
        }

        [System.Runtime.CompilerServices.InlineArray(Size)]
        private struct InlineStack
        {
            public const int Size = 72;
            private int _element;
        }
    }
}
