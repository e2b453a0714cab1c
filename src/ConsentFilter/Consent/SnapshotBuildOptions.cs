namespace ConsentFilter.Consent;

/// <summary>How <see cref="CompiledSnapshotBuilder"/> builds a compiled snapshot from rows it streams (a CSV or a database query).</summary>
/// <remarks>
/// Rows are hashed and spilled in sorted runs of fixed-size entries to a temporary directory, then merged: memory stays
/// within <see cref="MemoryBudget"/> whatever the number of users, and the temporary files need about 40 bytes a row of
/// disk. The result is byte for byte the file the in-memory build writes for the same rows and hash key.
/// </remarks>
public sealed class SnapshotBuildOptions
{
    /// <summary>The default memory budget: 1 GiB.</summary>
    public const long DefaultMemoryBudget = 1L << 30;

    /// <summary>The smallest budget accepted: 256 MiB (the runtime alone needs about half of it).</summary>
    public const long MinimumMemoryBudget = 256L << 20;

    /// <summary>Bytes the build may hold in memory: two sort buffers, and a reserve of up to 320 MiB (at most half) for the runtime and the reader.</summary>
    /// <value>The default is 1 GiB (<see cref="DefaultMemoryBudget"/>); at least <see cref="MinimumMemoryBudget"/>.</value>
    public long MemoryBudget { get; set; } = DefaultMemoryBudget;

    /// <summary>An explicit as-of time for the snapshot instead of the newest <c>updated_at</c>.</summary>
    /// <value>The default is null: the newest <c>updated_at</c> of the rows.</value>
    public DateTimeOffset? AsOf { get; set; }

    /// <summary>Where the sorted runs are spilled.</summary>
    /// <value>The default is null: a hidden directory beside the output file (same file system, removed at the end).</value>
    public string? TemporaryDirectory { get; set; }

    /// <summary>Also store each user's row-merge state, so the file can later be the <see cref="Base"/> of a delta build (format version 2).</summary>
    /// <value>The default is false: a version-1 file of 16 bytes per user; the state adds 40 bytes per user.</value>
    public bool KeepMergeState { get; set; }

    /// <summary>
    /// A compiled snapshot with merge state to which the rows are applied as changes: the result is what a build of the
    /// base's rows followed by these rows writes, and it keeps merge state too.
    /// </summary>
    /// <value>The default is null: the rows are the whole consent source.</value>
    /// <remarks>
    /// The base's purposes must be the build's and its hash key is reused; a base without merge state (version 1, or
    /// built without <see cref="KeepMergeState"/>) is refused, never approximated. The build reads the changes, sorts
    /// them, and makes one sequential pass over the base's states.
    /// </remarks>
    public string? Base { get; set; }

    /// <summary>Rows per sorted run, overriding the budget (tests split a user's rows across many runs with a tiny value).</summary>
    internal int? RunRows { get; set; }

    /// <summary>The hash key, instead of a random one (tests compare files byte for byte).</summary>
    internal ulong? Seed { get; set; }

    /// <summary>Bytes of CSV a core reads at a time in the parallel build (tests cut small files into many blocks); null for the default.</summary>
    internal int? PlainBlockBytes { get; set; }

    /// <summary>
    /// Wraps every stream the build reads or writes (spilled runs, merged entries, the snapshot itself): the tests' fault
    /// injection fails the N-th call to prove that no failure publishes anything or leaves temporary files.
    /// </summary>
    internal Func<Stream, Stream>? StreamWrapper { get; set; }

    /// <summary>The budget, checked.</summary>
    internal long CheckedBudget() => MemoryBudget >= MinimumMemoryBudget
        ? MemoryBudget
        : throw new ArgumentOutOfRangeException(nameof(MemoryBudget), MemoryBudget, $"the memory budget must be at least {MinimumMemoryBudget} bytes");
}
