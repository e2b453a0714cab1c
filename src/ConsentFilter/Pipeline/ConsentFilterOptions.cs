using ConsentFilter.Decisions;

namespace ConsentFilter.Pipeline;

/// <summary>Settings of a filter run. Bindable with Microsoft.Extensions.Options; checked by <see cref="ConsentFilterOptionsValidator"/>.</summary>
public sealed class ConsentFilterOptions
{
    /// <summary>The purpose records are filtered for.</summary>
    /// <value>The default is <c>ai_training</c>.</value>
    public string Purpose { get; set; } = ConsentFilterDefaults.Purpose;

    /// <summary>Dotted path of the author's user id in each record.</summary>
    /// <value>The default is <c>user_id</c>.</value>
    public string UserField { get; set; } = ConsentFilterDefaults.UserField;

    /// <summary>Dotted path of the record's region.</summary>
    /// <value>The default is <c>region</c>.</value>
    public string RegionField { get; set; } = ConsentFilterDefaults.RegionField;

    /// <summary>Dotted path of the record id echoed in the rejection log.</summary>
    /// <value>The default is <c>id</c>.</value>
    public string IdField { get; set; } = ConsentFilterDefaults.IdField;

    /// <summary>Dotted paths of co-subject fields (e.g. <c>recipients</c>); every co-subject must be allowed too.</summary>
    /// <value>The default is empty.</value>
    public IList<string> SubjectFields { get; } = [];

    /// <summary>Most co-subjects one record may name; a record with more is quarantined as <c>too_many_subjects</c>.</summary>
    /// <value>The default is 10000.</value>
    /// <remarks>Bounds the work and memory one hostile record can cost.</remarks>
    public int MaxSubjects { get; set; } = ConsentFilterDefaults.MaxSubjects;

    /// <summary>What happens to users the snapshot does not hold.</summary>
    /// <value>The default is <see cref="UnknownUserPolicy.Drop"/> (fail-closed).</value>
    public UnknownUserPolicy UnknownUsers { get; set; } = UnknownUserPolicy.Drop;

    /// <summary>Longest line accepted, in bytes without the line ending; longer lines are quarantined as <c>line_too_long</c>.</summary>
    /// <value>The default is 16 MiB.</value>
    public int MaxLineLength { get; set; } = ConsentFilterDefaults.MaxLineLength;

    /// <summary>Bytes read per batch; a batch is the unit handed between pipeline stages.</summary>
    /// <value>The default is 1 MiB.</value>
    public int BatchBytes { get; set; } = ConsentFilterDefaults.BatchBytes;

    /// <summary>Batches that may wait between stages; bounds memory and gives backpressure.</summary>
    /// <value>The default is 8.</value>
    public int ChannelCapacity { get; set; } = ConsentFilterDefaults.ChannelCapacity;

    /// <summary>The records' format for every input; null to detect each input's from its content and name (<see cref="RecordFormats.Detect"/>).</summary>
    /// <value>The default is null (detect).</value>
    public RecordFormat? RecordFormat { get; set; }

    /// <summary>Workers that validate and decide lines in parallel; output order is kept whatever the number.</summary>
    /// <value>The default is <see cref="Environment.ProcessorCount"/>.</value>
    public int MaxDegreeOfParallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>Key for HMAC-SHA256 of user ids in the rejection log; without it ids are plain SHA-256.</summary>
    /// <value>The default is null (plain SHA-256).</value>
    public string? UserIdHashKey { get; set; }

    /// <summary>The day a dated jurisdiction table (with <c>effective_from</c>) is resolved for.</summary>
    /// <value>The default is null: the snapshot's as-of day (today when the snapshot has none).</value>
    public DateOnly? JurisdictionsAsOf { get; set; }

    /// <summary>Write a provenance manifest (<c>OUTPUT.manifest.json</c>) beside a file output, in the same commit.</summary>
    /// <value>The default is true.</value>
    /// <remarks>It costs a SHA-256 of the inputs and the output and a 64-bit hash per user of each kept record.</remarks>
    public bool WriteManifest { get; set; } = true;

    /// <summary>Refuse a snapshot whose as-of time is older than this; null accepts any age.</summary>
    /// <value>The default is null.</value>
    /// <remarks>A stale snapshot silently ignores recent opt-outs. A snapshot with no as-of time fails any age limit.</remarks>
    public TimeSpan? MaxSnapshotAge { get; set; }
}

/// <summary>Default values of <see cref="ConsentFilterOptions"/>, in one place.</summary>
public static class ConsentFilterDefaults
{
    /// <summary>Default purpose.</summary>
    public const string Purpose = "ai_training";

    /// <summary>Default user id field.</summary>
    public const string UserField = "user_id";

    /// <summary>Default region field.</summary>
    public const string RegionField = "region";

    /// <summary>Default record id field.</summary>
    public const string IdField = "id";

    /// <summary>Default maximum line length (16 MiB).</summary>
    public const int MaxLineLength = 16 * 1024 * 1024;

    /// <summary>Largest maximum line length accepted (1 GiB).</summary>
    public const int MaxLineLengthLimit = 1024 * 1024 * 1024;

    /// <summary>Default batch size (1 MiB).</summary>
    public const int BatchBytes = 1024 * 1024;

    /// <summary>Default maximum number of co-subjects per record.</summary>
    public const int MaxSubjects = 10_000;

    /// <summary>Default channel capacity in batches.</summary>
    public const int ChannelCapacity = 8;
}
