using System.Text;

namespace ConsentFilter.Records;

/// <summary>The dotted field paths a decision reads, compiled into a trie so one pass over a line finds them all.</summary>
internal sealed class FieldPaths
{
    internal const int UserField = 0;
    internal const int RegionField = 1;
    internal const int IdField = 2;
    internal const int FirstSubjectField = 3;

    private readonly List<Node> _nodes = [];

    internal FieldPaths(string userField, string regionField, string idField, IReadOnlyList<string> subjectFields, int maxSubjects = int.MaxValue)
    {
        MaxSubjects = maxSubjects;
        _nodes.Add(new Node(0, [], -1, []));
        var all = new List<string> { userField, regionField, idField };
        all.AddRange(subjectFields);
        FieldCount = all.Count;
        PathNodes = new int[all.Count][];
        for (var field = 0; field < all.Count; field++)
        {
            PathNodes[field] = Add(all[field], field);
        }
    }

    /// <summary>Most co-subjects a record may have; past it the record is quarantined as <c>too_many_subjects</c>.</summary>
    internal int MaxSubjects { get; }

    /// <summary>Number of fields: user, region, id, then each co-subject field.</summary>
    internal int FieldCount { get; }

    internal int SubjectFieldCount => FieldCount - FirstSubjectField;

    internal int NodeCount => _nodes.Count;

    /// <summary>For each field, the node ids along its path from the top-level object down to the field.</summary>
    internal int[][] PathNodes { get; }

    internal Node this[int id] => _nodes[id];

    private int[] Add(string path, int field)
    {
        var segments = path.Split('.');
        var ids = new int[segments.Length];
        var current = _nodes[0];
        for (var i = 0; i < segments.Length; i++)
        {
            var name = Encoding.UTF8.GetBytes(segments[i]);
            var child = current.Children.Find(c => c.Name.AsSpan().SequenceEqual(name));
            if (child is null)
            {
                child = new Node(_nodes.Count, name, -1, []);
                _nodes.Add(child);
                current.Children.Add(child);
                current.ChildLengths |= Node.LengthBit(name.Length);
            }

            ids[i] = child.Id;
            current = child;
        }

        // Options validation rejects two fields with the same path, so a leaf carries one field.
        current.Field = field;
        return ids;
    }

    internal sealed class Node(int id, byte[] name, int field, List<Node> children)
    {
        public int Id { get; } = id;

        public byte[] Name { get; } = name;

        /// <summary>The field this node ends, or -1 for a purely intermediate node.</summary>
        public int Field { get; set; } = field;

        public List<Node> Children { get; } = children;

        /// <summary>Bit <c>n</c> set when a child's name is <c>n</c> bytes long (bit 63: 63 or more): most keys of a
        /// record match no child by length alone, and the scanner skips comparing them.</summary>
        public ulong ChildLengths { get; set; }

        internal static ulong LengthBit(int length) => 1UL << Math.Min(length, 63);
    }
}
