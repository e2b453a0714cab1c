using System.Text.Json;

namespace ConsentFilter.Records;

/// <summary>Where a JSON value sits inside a line: offsets, not copies, so a line is never re-encoded.</summary>
/// <param name="Type">The value's token type (for strings, <see cref="JsonTokenType.String"/>).</param>
/// <param name="Start">Offset of the value in the line (for strings, just after the opening quote).</param>
/// <param name="Length">Length in bytes (for strings, the raw content without quotes).</param>
/// <param name="Escaped">Whether a string contains escapes that must be decoded.</param>
internal readonly record struct JsonValueRef(JsonTokenType Type, int Start, int Length, bool Escaped)
{
    internal static JsonValueRef Absent => default;

    internal bool IsAbsent => Type == JsonTokenType.None;

    internal ReadOnlySpan<byte> Raw(ReadOnlySpan<byte> line) => line.Slice(Start, Length);
}

/// <summary>The fields of one line that the decision reads, found by <see cref="JsonLineParser"/>.</summary>
/// <remarks>One instance per worker, reused for every line, so parsing allocates nothing in the steady state.</remarks>
internal sealed class LineFields
{
    internal LineFields(FieldPaths paths)
    {
        Paths = paths;
        Values = new JsonValueRef[paths.FieldCount];
        NodeCounts = new int[paths.NodeCount];
        ArrayElements = new List<JsonValueRef>[paths.FieldCount];
        ArrayHasBadElement = new bool[paths.FieldCount];
        for (var i = 0; i < ArrayElements.Length; i++)
        {
            ArrayElements[i] = [];
        }
    }

    internal FieldPaths Paths { get; }

    /// <summary>The scanner's bitmap of string-ending bytes, kept between lines so a worker allocates it once.</summary>
    internal ulong[]? SpecialsScratch;

    /// <summary>The value found at each field's path (last occurrence), or absent.</summary>
    internal JsonValueRef[] Values { get; }

    /// <summary>How often each trie node's key occurred in its object(s); more than one is a duplicate key.</summary>
    internal int[] NodeCounts { get; }

    /// <summary>Direct elements of a co-subject array, for fields whose value is an array.</summary>
    internal List<JsonValueRef>[] ArrayElements { get; }

    /// <summary>Whether a co-subject array held a nested array, an object, a boolean or null.</summary>
    internal bool[] ArrayHasBadElement { get; }

    /// <summary>Co-subjects in order (fields in configured order, then array order), valid after a successful parse.</summary>
    internal List<JsonValueRef> Subjects { get; } = [];

    /// <summary>The user id value (valid after a successful parse).</summary>
    internal JsonValueRef UserId => Values[FieldPaths.UserField];

    /// <summary>The region value, or absent (valid after a successful parse).</summary>
    internal JsonValueRef Region => Values[FieldPaths.RegionField];

    /// <summary>The record id value, or absent when missing or not a string or number.</summary>
    internal JsonValueRef RecordId => Values[FieldPaths.IdField];

    internal void Reset()
    {
        Array.Clear(Values);
        Array.Clear(NodeCounts);
        Array.Clear(ArrayHasBadElement);
        foreach (var list in ArrayElements)
        {
            list.Clear();
        }

        Subjects.Clear();
    }

    internal bool HasDuplicateOnPath(int field)
    {
        foreach (var node in Paths.PathNodes[field])
        {
            if (NodeCounts[node] > 1)
            {
                return true;
            }
        }

        return false;
    }
}
