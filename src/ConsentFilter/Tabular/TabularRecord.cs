using System.Text;
using ConsentFilter.Records;

namespace ConsentFilter.Tabular;

/// <summary>The fields of one CSV or Parquet row that the decision reads; reused row after row.</summary>
internal sealed class TabularRecord
{
    private static readonly UTF8Encoding s_utf8 = new(false, true);

    /// <summary>The author's id as exact UTF-8 bytes.</summary>
    internal byte[] UserId { get; private set; } = [];

    /// <summary>The record's region text, or null when absent.</summary>
    internal string? Region { get; set; }

    /// <summary>The record id echoed in the rejection log, or null.</summary>
    internal string? Id { get; set; }

    /// <summary>Co-subject ids as exact UTF-8 bytes, in order.</summary>
    internal List<byte[]> Subjects { get; } = [];

    /// <summary>Why the row cannot be decided, or <see cref="MalformedKind.None"/>.</summary>
    internal MalformedKind Malformed { get; set; }

    internal void Reset()
    {
        UserId = [];
        Region = null;
        Id = null;
        Subjects.Clear();
        Malformed = MalformedKind.None;
    }

    /// <summary>Sets the author; an empty id is <see cref="MalformedKind.MissingUserId"/> (as <c>""</c> is in JSON).</summary>
    internal void SetUserId(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            Fail(MalformedKind.MissingUserId);
            return;
        }

        UserId = s_utf8.GetBytes(id);
    }

    /// <summary>Adds a co-subject; an empty id is <see cref="MalformedKind.BadSubjectType"/> (as <c>""</c> is in JSON).</summary>
    internal void AddSubject(string? id, int maxSubjects)
    {
        if (string.IsNullOrEmpty(id))
        {
            Fail(MalformedKind.BadSubjectType);
            return;
        }

        if (Subjects.Count >= maxSubjects)
        {
            Fail(MalformedKind.TooManySubjects);
            return;
        }

        Subjects.Add(s_utf8.GetBytes(id));
    }

    /// <summary>Records the first problem found; later ones do not replace it.</summary>
    internal void Fail(MalformedKind kind)
    {
        if (Malformed == MalformedKind.None)
        {
            Malformed = kind;
        }
    }
}
