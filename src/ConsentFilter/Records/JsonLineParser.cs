using System.Text.Json;
using System.Text.Unicode;

namespace ConsentFilter.Records;

/// <summary>Validates one line as strict JSON and finds the decision's fields in a single pass (SPEC 2.1 "Precisely").</summary>
/// <remarks>
/// Order of checks, first problem wins: invalid UTF-8, then the JSON text as a whole (invalid JSON, then not an object,
/// then too deep), then the fields in the order user id, region, co-subject fields — each field's path checked for
/// duplicate keys before its value's type — and last the number of co-subjects (elements past the limit are not
/// inspected). The line-length check happens earlier, in the line splitter.
/// The scanner is hand-written for speed; what it accepts is exactly what <see cref="Utf8JsonReader"/> accepts, which the
/// tests check against the reader-based parser it replaced (tests/…/Records/JsonLineScannerEquivalenceTests.cs).
/// </remarks>
internal static class JsonLineParser
{
    /// <summary>The deepest nesting allowed; the top-level object is level 1.</summary>
    internal const int MaxNestingDepth = 64;

    private const int Untracked = -1;

    // Container markers on the context stack: >= 0 is a trie node; <= ArrayBase is an array of a co-subject field.
    private const int ArrayBase = -2;

    /// <summary>Parses <paramref name="line"/> (without its line ending) into <paramref name="fields"/>.</summary>
    internal static MalformedKind Parse(ReadOnlySpan<byte> line, LineFields fields)
    {
        fields.Reset();
        if (!Internal.Utf8Validator.IsValid(line))
        {
            return MalformedKind.InvalidUtf8;
        }

        var structure = Scan(line, fields);
        return structure != MalformedKind.None ? structure : CheckFields(line, fields);
    }

    /// <summary>Scanner states: what the next non-whitespace byte must start.</summary>
    private enum Expect
    {
        Value,
        ValueOrArrayEnd,
        Key,
        KeyOrObjectEnd,
        AfterValue,
    }

    /// <summary>
    /// One strict RFC 8259 pass over the whole line (no comments, no trailing commas, one value, whitespace = space, tab,
    /// CR, LF) that records where the decision's fields are. It gives exactly the verdicts of a
    /// <see cref="Utf8JsonReader"/> pass (the test oracle; property <c>JsonLineScannerEquivalenceTests</c>) at about half
    /// the cost, because it does only what this parser needs: no token state for callers, no exceptions.
    /// </summary>
    /// <remarks>Iterative with an explicit stack, so nesting depth costs memory only past 72 levels, never the call stack.</remarks>
    private static MalformedKind Scan(ReadOnlySpan<byte> line, LineFields fields)
    {
        var paths = fields.Paths;
        var specials = StringSpecials.Mark(line, ref fields.SpecialsScratch);
        var context = new ContextStack();
        var depth = 0;
        var maxDepth = 0;
        var pendingNode = Untracked;
        var i = SkipWhitespace(line, 0);
        if (i == line.Length)
        {
            return MalformedKind.InvalidJson;
        }

        var rootIsObject = line[i] == (byte)'{';
        var expect = Expect.Value;
        while (true)
        {
            i = SkipWhitespace(line, i);
            switch (expect)
            {
                case Expect.Value:
                case Expect.ValueOrArrayEnd:
                    {
                        if (i == line.Length)
                        {
                            return MalformedKind.InvalidJson;
                        }

                        var c = line[i];
                        if (c == (byte)']' && expect == Expect.ValueOrArrayEnd)
                        {
                            depth--;
                            context.Pop();
                            i++;
                            expect = Expect.AfterValue;
                            continue;
                        }

                        var start = i;
                        JsonTokenType token;
                        var length = 0;
                        var escaped = false;
                        switch (c)
                        {
                            case (byte)'{':
                                token = JsonTokenType.StartObject;
                                i++;
                                break;
                            case (byte)'[':
                                token = JsonTokenType.StartArray;
                                i++;
                                break;
                            case (byte)'"':
                                token = JsonTokenType.String;
                                i = ScanString(line, specials, i, out escaped);
                                if (i < 0)
                                {
                                    return MalformedKind.InvalidJson;
                                }

                                start++;
                                length = i - start - 1;
                                break;
                            case (byte)'t':
                                token = JsonTokenType.True;
                                i = ScanLiteral(line, i, "true"u8);
                                break;
                            case (byte)'f':
                                token = JsonTokenType.False;
                                i = ScanLiteral(line, i, "false"u8);
                                break;
                            case (byte)'n':
                                token = JsonTokenType.Null;
                                i = ScanLiteral(line, i, "null"u8);
                                break;
                            default:
                                token = JsonTokenType.Number;
                                i = ScanNumber(line, i);
                                length = i - start;
                                break;
                        }

                        if (i < 0)
                        {
                            return MalformedKind.InvalidJson;
                        }

                        var pushed = RecordValue(fields, paths, ref pendingNode, context.Peek(), depth, new JsonValueRef(token, start, length, escaped));
                        if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                        {
                            depth++;
                            maxDepth = Math.Max(maxDepth, depth);
                            context.Push(pushed, isArray: token == JsonTokenType.StartArray);
                            expect = token == JsonTokenType.StartArray ? Expect.ValueOrArrayEnd : Expect.KeyOrObjectEnd;
                        }
                        else
                        {
                            expect = Expect.AfterValue;
                        }

                        continue;
                    }

                case Expect.Key:
                case Expect.KeyOrObjectEnd:
                    {
                        if (i == line.Length)
                        {
                            return MalformedKind.InvalidJson;
                        }

                        if (line[i] == (byte)'}' && expect == Expect.KeyOrObjectEnd)
                        {
                            depth--;
                            context.Pop();
                            i++;
                            expect = Expect.AfterValue;
                            continue;
                        }

                        if (line[i] != (byte)'"')
                        {
                            return MalformedKind.InvalidJson;
                        }

                        var nameStart = i + 1;
                        i = ScanString(line, specials, i, out var nameEscaped);
                        if (i < 0)
                        {
                            return MalformedKind.InvalidJson;
                        }

                        pendingNode = FindChild(line[nameStart..(i - 1)], nameEscaped, paths, context.Peek());
                        if (pendingNode >= 0)
                        {
                            fields.NodeCounts[pendingNode]++;
                        }

                        i = SkipWhitespace(line, i);
                        if (i == line.Length || line[i] != (byte)':')
                        {
                            return MalformedKind.InvalidJson;
                        }

                        i++;
                        expect = Expect.Value;
                        continue;
                    }

                default:
                    {
                        if (depth == 0)
                        {
                            // The one value is complete: only whitespace may follow.
                            return i != line.Length ? MalformedKind.InvalidJson
                                : !rootIsObject ? MalformedKind.NotObject
                                : maxDepth > MaxNestingDepth ? MalformedKind.TooDeep
                                : MalformedKind.None;
                        }

                        if (i == line.Length)
                        {
                            return MalformedKind.InvalidJson;
                        }

                        var c = line[i];
                        var inArray = context.PeekIsArray();
                        if (c == (byte)',')
                        {
                            i++;
                            expect = inArray ? Expect.Value : Expect.Key;
                        }
                        else if (c == (inArray ? (byte)']' : (byte)'}'))
                        {
                            depth--;
                            context.Pop();
                            i++;
                        }
                        else
                        {
                            return MalformedKind.InvalidJson;
                        }

                        continue;
                    }
            }
        }
    }

    /// <summary>
    /// Records a value where the decision needs it and returns the marker for the container it opens: a trie node (an
    /// object on a field path), a co-subject array, or untracked.
    /// </summary>
    private static int RecordValue(LineFields fields, FieldPaths paths, ref int pendingNode, int parent, int depth, JsonValueRef value)
    {
        var token = value.Type;
        var pushed = Untracked;
        if (pendingNode >= 0)
        {
            var node = paths[pendingNode];
            if (node.Field >= 0)
            {
                fields.Values[node.Field] = value;
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
                    fields.ArrayElements[field].Add(value);
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
        return pushed;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int SkipWhitespace(ReadOnlySpan<byte> line, int i)
    {
        while (i < line.Length && line[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            i++;
        }

        return i;
    }

    /// <summary>Scans the string whose opening quote is at <paramref name="quote"/>; returns the index after its closing quote, or -1.</summary>
    private static int ScanString(ReadOnlySpan<byte> line, in StringSpecials specials, int quote, out bool escaped)
    {
        escaped = false;
        var i = quote + 1;
        while (true)
        {
            // The closing quote, an escape, or a control character (invalid): whatever ends the run of plain bytes.
            i = specials.NextFrom(i);
            if (i < 0)
            {
                return -1;
            }

            var c = line[i];
            if (c == (byte)'"')
            {
                return i + 1;
            }

            if (c != (byte)'\\')
            {
                return -1; // a control character: must be escaped
            }

            escaped = true;
            if (i + 1 >= line.Length)
            {
                return -1;
            }

            switch (line[i + 1])
            {
                case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    i += 2;
                    break;
                case (byte)'u':
                    if (i + 6 > line.Length || !IsHex(line[i + 2]) || !IsHex(line[i + 3]) || !IsHex(line[i + 4]) || !IsHex(line[i + 5]))
                    {
                        return -1;
                    }

                    i += 6;
                    break;
                default:
                    return -1;
            }
        }
    }

    private static bool IsHex(byte c) => char.IsAsciiHexDigit((char)c);

    /// <summary>Scans <c>-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?</c>; returns the index after it, or -1.</summary>
    /// <remarks>What may follow (a delimiter) is the caller's next expectation to check.</remarks>
    private static int ScanNumber(ReadOnlySpan<byte> line, int i)
    {
        if (line[i] == (byte)'-')
        {
            i++;
        }

        if (i == line.Length || !char.IsAsciiDigit((char)line[i]))
        {
            return -1;
        }

        if (line[i] == (byte)'0')
        {
            i++;
        }
        else
        {
            i = SkipDigits(line, i);
        }

        if (i < line.Length && line[i] == (byte)'.')
        {
            var digits = SkipDigits(line, i + 1);
            if (digits == i + 1)
            {
                return -1;
            }

            i = digits;
        }

        if (i < line.Length && line[i] is (byte)'e' or (byte)'E')
        {
            i++;
            if (i < line.Length && line[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            var digits = SkipDigits(line, i);
            if (digits == i)
            {
                return -1;
            }

            i = digits;
        }

        return i;
    }

    private static int SkipDigits(ReadOnlySpan<byte> line, int i)
    {
        while (i < line.Length && char.IsAsciiDigit((char)line[i]))
        {
            i++;
        }

        return i;
    }

    private static int ScanLiteral(ReadOnlySpan<byte> line, int i, ReadOnlySpan<byte> literal) =>
        line[i..].StartsWith(literal) ? i + literal.Length : -1;

    private static int FindChild(ReadOnlySpan<byte> rawName, bool escaped, FieldPaths paths, int container)
    {
        if (container < 0)
        {
            return Untracked;
        }

        // An unescaped name is as long as its text: no child of another length can match. (An escaped one is longer
        // than its text, so it is compared in full.)
        var node = paths[container];
        if (!escaped && (node.ChildLengths & FieldPaths.Node.LengthBit(rawName.Length)) == 0)
        {
            return Untracked;
        }

        foreach (var child in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(node.Children))
        {
            var name = child.Name;
            if (escaped ? EscapedNameEquals(rawName, name)
                : rawName.Length == name.Length && (name.Length == 0 || (rawName[0] == name[0] && rawName.SequenceEqual(name))))
            {
                return child.Id;
            }
        }

        return Untracked;
    }

    /// <summary>Compares a property name with escapes, decoded, to a field segment.</summary>
    /// <remarks>
    /// A lone-surrogate escape decodes to bytes that are not valid UTF-8 (see <see cref="JsonStringDecoder"/>), so such a
    /// name equals no segment (segments are valid text) — as the reader's <c>ValueTextEquals</c>, which refuses it.
    /// </remarks>
    private static bool EscapedNameEquals(ReadOnlySpan<byte> rawName, byte[] segment)
    {
        // Decoding never lengthens; a name whose raw form is more than six bytes per segment byte cannot match.
        if (rawName.Length > segment.Length * 6)
        {
            return false;
        }

        Span<byte> decoded = rawName.Length <= 256 ? stackalloc byte[rawName.Length] : new byte[rawName.Length];
        var length = JsonStringDecoder.Decode(rawName, decoded);
        return decoded[..length].SequenceEqual(segment);
    }

    /// <summary>The checks of the found fields, in the documented order (also used by the tests' reference parser).</summary>
    internal static MalformedKind CheckFields(ReadOnlySpan<byte> line, LineFields fields)
    {
        if (fields.HasDuplicateOnPath(FieldPaths.UserField))
        {
            return MalformedKind.DuplicateKey;
        }

        var user = fields.UserId;
        switch (ClassifyId(line, user))
        {
            case IdShape.Missing: return MalformedKind.MissingUserId;
            case IdShape.WrongType: return MalformedKind.BadUserIdType;
        }

        if (fields.HasDuplicateOnPath(FieldPaths.RegionField))
        {
            return MalformedKind.DuplicateKey;
        }

        if (!fields.Region.IsAbsent && fields.Region.Type != JsonTokenType.String)
        {
            return MalformedKind.BadRegionType;
        }

        for (var field = FieldPaths.FirstSubjectField; field < fields.Paths.FieldCount; field++)
        {
            if (fields.HasDuplicateOnPath(field))
            {
                return MalformedKind.DuplicateKey;
            }

            var value = fields.Values[field];
            if (value.IsAbsent)
            {
                continue;
            }

            if (value.Type == JsonTokenType.StartArray)
            {
                if (fields.ArrayHasBadElement[field])
                {
                    return MalformedKind.BadSubjectType;
                }

                foreach (var element in fields.ArrayElements[field])
                {
                    if (ClassifyId(line, element) != IdShape.Valid)
                    {
                        return MalformedKind.BadSubjectType;
                    }

                    fields.Subjects.Add(element);
                }
            }
            else if (ClassifyId(line, value) == IdShape.Valid)
            {
                fields.Subjects.Add(value);
            }
            else
            {
                return MalformedKind.BadSubjectType;
            }
        }

        if (fields.Subjects.Count > fields.Paths.MaxSubjects)
        {
            return MalformedKind.TooManySubjects;
        }

        // The record id is only echoed: a duplicate or odd type is not malformed, it is just not echoed.
        var id = fields.RecordId;
        if (!id.IsAbsent && (fields.HasDuplicateOnPath(FieldPaths.IdField) || id.Type is not (JsonTokenType.String or JsonTokenType.Number)))
        {
            fields.Values[FieldPaths.IdField] = JsonValueRef.Absent;
        }

        return MalformedKind.None;
    }

    private enum IdShape
    {
        Valid,
        Missing,
        WrongType,
    }

    /// <summary>A user id is a non-empty string or an integer literal (no fraction, no exponent).</summary>
    private static IdShape ClassifyId(ReadOnlySpan<byte> line, JsonValueRef value) => value.Type switch
    {
        JsonTokenType.None or JsonTokenType.Null => IdShape.Missing,
        JsonTokenType.String => value.Length == 0 ? IdShape.Missing : IdShape.Valid,
        JsonTokenType.Number => value.Raw(line).IndexOfAny(".eE"u8) < 0 ? IdShape.Valid : IdShape.WrongType,
        _ => IdShape.WrongType,
    };

    /// <summary>
    /// A growable stack of open containers — each its marker (trie node, co-subject array or untracked) and whether it is
    /// an array — that allocates only past 72 levels.
    /// </summary>
    private ref struct ContextStack
    {
        private int[]? _overflow;
        private InlineStack _inline;
        private int _count;

        /// <summary>The innermost container's marker, or untracked outside every container.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public readonly int Peek() => _count == 0 ? Untracked : Top() >> 1;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public readonly bool PeekIsArray() => _count > 0 && (Top() & 1) != 0;

        public void Push(int marker, bool isArray)
        {
            var value = (marker << 1) | (isArray ? 1 : 0);
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

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private readonly int Top() => _count <= InlineStack.Size ? _inline[_count - 1] : _overflow![_count - 1];

        [System.Runtime.CompilerServices.InlineArray(Size)]
        private struct InlineStack
        {
            public const int Size = 72;
            private int _element;
        }
    }
}
