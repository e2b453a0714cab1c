using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using ConsentFilter.Consent;

namespace ConsentFilter.Cli;

/// <summary>
/// <c>--consent-db</c>, <c>--consent-query</c> and <c>--db-provider</c>: consent read from a database query instead of a
/// file, shared by <c>snapshot build</c>, <c>filter</c> and <c>explain</c>. The provider is the only database code here;
/// reading, validating and merging rows is the library's (<see cref="ConsentDatabase"/>).
/// </summary>
internal sealed class ConsentDatabaseOptions
{
    public Option<string?> Connection { get; } = new("--consent-db")
    {
        Description = "Read consent from a database instead: its connection string (with --consent-query). The password never appears in output.",
        HelpName = "CONNECTION",
    };

    public Option<string?> Query { get; } = new("--consent-query")
    {
        Description = "The query returning the consent CSV's columns by name (user_id, region, purposes, gpc, minor, updated_at), with --consent-db.",
        HelpName = "SQL",
    };

    public Option<string?> Provider { get; } = new("--db-provider")
    {
        Description = "Database provider for --consent-db: postgresql (the default, and the only one built in).",
        HelpName = "NAME",
    };

    public IEnumerable<Option> All => [Connection, Query, Provider];

    /// <summary>Whether the database options were given (and complete).</summary>
    public bool IsGiven(ParseResult parse)
    {
        var connection = parse.GetValue(Connection);
        var query = parse.GetValue(Query);
        if (connection is null && query is null)
        {
            if (parse.GetValue(Provider) is not null)
            {
                throw new UsageException("--db-provider needs --consent-db and --consent-query");
            }

            return false;
        }

        return connection is not null && query is not null
            ? true
            : throw new UsageException("--consent-db and --consent-query go together");
    }

    /// <summary>The ADO.NET provider named by <c>--db-provider</c>; without it, PostgreSQL, the only one built in.</summary>
    /// <remarks>A connection string PostgreSQL's provider cannot parse is reported as a connection failure.</remarks>
    public static DbProviderFactory Factory(string? provider) =>
        provider?.Trim().ToLowerInvariant() switch
        {
            null or "postgresql" or "postgres" or "npgsql" => Npgsql.NpgsqlFactory.Instance,
            _ => throw new UsageException($"--db-provider: '{provider}' is not supported (supported: postgresql)"),
        };

    /// <summary>Builds a compiled snapshot from the query into <paramref name="path"/>.</summary>
    public CompiledSnapshotSummary Build(ParseResult parse, string path, IReadOnlyList<string> purposes, SnapshotBuildOptions options, CancellationToken cancellationToken)
    {
        var connection = parse.GetValue(Connection)!;
        return ConsentDatabase.BuildSnapshot(Factory(parse.GetValue(Provider)), connection, parse.GetValue(Query)!, path, purposes, options, cancellationToken);
    }

    /// <summary>
    /// For a run (<c>filter</c>, <c>explain</c>): the query compiled into a temporary snapshot in bounded memory, deleted
    /// on dispose. The snapshot names the database as its source, so the report does too.
    /// </summary>
    public TemporarySnapshot BuildTemporary(ParseResult parse, IReadOnlyList<string> purposes, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("consentfilter-db-").FullName;
        try
        {
            var path = Path.Combine(directory, "consent.snap");
            Build(parse, path, purposes, new SnapshotBuildOptions(), cancellationToken);
            return new TemporarySnapshot(directory, path);
        }
        catch
        {
            TemporarySnapshot.DeleteDirectory(directory);
            throw;
        }
    }

    /// <summary>
    /// The consent a run reads: <c>--consent</c>, or the database query compiled into a temporary snapshot (removed when
    /// the returned scope is disposed, after the run). Exactly one of the two must be given.
    /// </summary>
    public TemporarySnapshot? Resolve(ParseResult parse, Option<string> consent, IReadOnlyList<string> purposes, CancellationToken cancellationToken, out string path)
    {
        var file = parse.GetValue(consent);
        if (!IsGiven(parse))
        {
            path = file ?? throw new UsageException("give --consent CSV|SNAPSHOT, or --consent-db CONNECTION with --consent-query SQL");
            return null;
        }

        if (file is not null)
        {
            throw new UsageException("give either --consent or --consent-db, not both");
        }

        var temporary = BuildTemporary(parse, purposes, cancellationToken);
        path = temporary.Path;
        return temporary;
    }

    /// <summary>A size: bytes, or with a unit (<c>512MiB</c>, <c>1GiB</c>, <c>2G</c>; K/M/G/T, binary multiples).</summary>
    public static long ParseSize(string text, string option)
    {
        var t = text.Trim();
        var digits = 0;
        while (digits < t.Length && (char.IsAsciiDigit(t[digits]) || t[digits] == '.'))
        {
            digits++;
        }

        var unit = t[digits..].Trim().ToUpperInvariant().Replace("IB", string.Empty, StringComparison.Ordinal).TrimEnd('B');
        var shift = unit switch
        {
            "" => 0,
            "K" => 10,
            "M" => 20,
            "G" => 30,
            "T" => 40,
            _ => -1,
        };
        if (shift < 0 || !double.TryParse(t[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            throw new UsageException($"{option}: '{text}' is not a size (e.g. 512MiB, 1GiB, 2G)");
        }

        return (long)(value * (1L << shift));
    }
}

/// <summary>A compiled snapshot in a temporary directory, deleted (with the directory) on dispose.</summary>
internal sealed class TemporarySnapshot(string directory, string path) : IDisposable
{
    public string Path { get; } = path;

    public void Dispose() => DeleteDirectory(directory);

    internal static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
