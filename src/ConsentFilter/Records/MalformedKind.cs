namespace ConsentFilter.Records;

/// <summary>Why a line was quarantined instead of decided (SPEC 2.1).</summary>
public enum MalformedKind : byte
{
    /// <summary>Not malformed.</summary>
    None = 0,

    /// <summary>The line is not valid UTF-8.</summary>
    InvalidUtf8,

    /// <summary>The line is not one strict RFC 8259 JSON value.</summary>
    InvalidJson,

    /// <summary>The JSON value is not an object.</summary>
    NotObject,

    /// <summary>Nesting deeper than 64 levels (the top-level object is level 1).</summary>
    TooDeep,

    /// <summary>The line is longer than the maximum line length.</summary>
    LineTooLong,

    /// <summary>The user id is absent, <c>""</c> or <c>null</c>.</summary>
    MissingUserId,

    /// <summary>The user id is neither a string nor an integer literal.</summary>
    BadUserIdType,

    /// <summary>The region is not a string.</summary>
    BadRegionType,

    /// <summary>A co-subject field is not a user id or an array of them.</summary>
    BadSubjectType,

    /// <summary>A key along a path the decision reads appears more than once.</summary>
    DuplicateKey,

    /// <summary>More co-subjects than the configured maximum (a bound on work and memory per record).</summary>
    TooManySubjects,

    /// <summary>A CSV record breaks the quoting rules (a quote never closed, or text after a closing quote) or has the wrong number of fields.</summary>
    InvalidCsv,
}

/// <summary>Report spellings of <see cref="MalformedKind"/>.</summary>
public static class MalformedKindNames
{
    /// <summary>Every kind except <see cref="MalformedKind.None"/>, in report order.</summary>
    public static IReadOnlyList<MalformedKind> All { get; } =
        [.. Enum.GetValues<MalformedKind>().Where(k => k != MalformedKind.None)];

    /// <summary>The report key, e.g. <c>invalid_json</c>.</summary>
    public static string ToName(this MalformedKind kind) => kind switch
    {
        MalformedKind.InvalidUtf8 => "invalid_utf8",
        MalformedKind.InvalidJson => "invalid_json",
        MalformedKind.NotObject => "not_object",
        MalformedKind.TooDeep => "too_deep",
        MalformedKind.LineTooLong => "line_too_long",
        MalformedKind.MissingUserId => "missing_user_id",
        MalformedKind.BadUserIdType => "bad_user_id_type",
        MalformedKind.BadRegionType => "bad_region_type",
        MalformedKind.BadSubjectType => "bad_subject_type",
        MalformedKind.DuplicateKey => "duplicate_key",
        MalformedKind.TooManySubjects => "too_many_subjects",
        MalformedKind.InvalidCsv => "invalid_csv",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
