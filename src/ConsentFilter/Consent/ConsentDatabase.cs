using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ConsentFilter.Internal;

namespace ConsentFilter.Consent;

/// <summary>
/// Consent read from a database query through ADO.NET: the query's columns are the consent CSV's (found by name, trimmed,
/// case-insensitive), its values the CSV's spellings, SQL NULL an empty cell; rows are streamed, never materialized.
/// </summary>
/// <remarks>
/// Native values are accepted too: booleans, integers, and timestamps (a timestamp without time zone is UTC, as in the
/// CSV). Every row goes through the CSV loader's validation and merge, so a database and the CSV exported from it decide
/// identically. The provider is the caller's (<see cref="DbProviderFactory"/>): this library depends on none.
/// </remarks>
public static class ConsentDatabase
{
    private static readonly string[] s_secretKeys = ["Password", "Pwd"];

    /// <summary>The connection string without its password, for reports, errors and the snapshot's origin.</summary>
    public static string DescribeConnection(DbProviderFactory factory, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(connectionString);
        try
        {
            var builder = factory.CreateConnectionStringBuilder() ?? new DbConnectionStringBuilder();
            builder.ConnectionString = connectionString;
            foreach (var key in s_secretKeys)
            {
                builder.Remove(key);
            }

            return builder.ConnectionString;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            // An unparsable string is never echoed: it may hold the password.
            return "(unparsable connection string)";
        }
    }

    /// <summary>Runs <paramref name="query"/> and compiles its rows into <paramref name="path"/> in bounded memory, published atomically.</summary>
    /// <exception cref="DataFileException">
    /// The database cannot be reached, the query fails, or a row is invalid (the message names the user): nothing is published.
    /// A failure while rows stream (the server gone) propagates as the provider's exception, and nothing is published either.
    /// </exception>
    public static CompiledSnapshotSummary BuildSnapshot(DbProviderFactory factory, string connectionString, string query, string path,
        IReadOnlyList<string> purposes, SnapshotBuildOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentException.ThrowIfNullOrEmpty(query);
        var source = Source(factory, connectionString, query);
        using var connection = Connect(factory, connectionString, source);
        using var command = connection.CreateCommand();
        using var reader = Execute(command, query, source, cancellationToken);
        return BuildSnapshot(reader, source, path, purposes, options, cancellationToken);
    }

    /// <summary>Compiles the rows of an open reader into <paramref name="path"/> in bounded memory, published atomically.</summary>
    /// <param name="reader">A reader positioned before its first row (opened with <see cref="CommandBehavior.SequentialAccess"/> ideally).</param>
    /// <param name="source">How the source is named in errors and recorded in the file; never a password.</param>
    /// <param name="path">The compiled snapshot to write.</param>
    /// <param name="purposes">The purposes to hold (at most seven).</param>
    /// <param name="options">Memory budget, temporary directory, as-of time.</param>
    /// <param name="cancellationToken">Stops the build; nothing is published.</param>
    public static CompiledSnapshotSummary BuildSnapshot(DbDataReader reader, string source, string path, IReadOnlyList<string> purposes,
        SnapshotBuildOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(source);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        return ExternalSnapshotBuilder.Build(Rows(reader, hash, cancellationToken), source, purposes, () => Convert.ToHexStringLower(hash.GetHashAndReset()),
            source, path, options ?? new SnapshotBuildOptions(), nameUserInErrors: true, cancellationToken);
    }

    /// <summary>Loads the rows of an open reader into an in-memory snapshot, exactly as a consent CSV holding them loads.</summary>
    /// <exception cref="DataFileException">A row is invalid (the message names the user).</exception>
    public static ConsentSnapshot Load(DbDataReader reader, string source, IReadOnlyList<string> purposes, DateTimeOffset? asOf)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(source);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        return ConsentCsvLoader.FromRows(Rows(reader, hash, CancellationToken.None), source, purposes, asOf,
            () => Convert.ToHexStringLower(hash.GetHashAndReset()), nameUserInErrors: true);
    }

    /// <summary>How a query is named: the provider, the connection without its password, and the query.</summary>
    internal static string Source(DbProviderFactory factory, string connectionString, string query) =>
        $"database {DescribeConnection(factory, connectionString)} query \"{OneLine(query)}\"";

    private static DbConnection Connect(DbProviderFactory factory, string connectionString, string source)
    {
        var connection = factory.CreateConnection() ?? throw new ArgumentException("the provider creates no connections", nameof(factory));
        try
        {
            connection.ConnectionString = connectionString;
            connection.Open();
            return connection;
        }
        catch (Exception e) when (e is DbException or ArgumentException or InvalidOperationException or IOException or TimeoutException
            or System.Net.Sockets.SocketException)
        {
            connection.Dispose();
            throw new DataFileException(source, 0, 0, $"cannot connect to the consent database: {Scrub(e.Message, connectionString)}", e);
        }
    }

    private static DbDataReader Execute(DbCommand command, string query, string source, CancellationToken cancellationToken)
    {
        command.CommandText = query;
        command.CommandTimeout = 0; // a billion rows take longer than any fixed timeout; cancellation stops the query instead
        try
        {
            // Sequential access: the provider streams each row's cells once, nothing is buffered beyond the current row.
            return command.ExecuteReader(CommandBehavior.SequentialAccess | CommandBehavior.SingleResult);
        }
        catch (DbException e)
        {
            throw new DataFileException(source, 0, 0, $"the consent query failed: {OneLine(e.Message)}", e);
        }
        finally
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The header row then each data row as the text cells the CSV would hold; the SHA-256 covers the rows written as CSV.</summary>
    private static IEnumerable<CsvRows.Row> Rows(DbDataReader reader, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var count = reader.FieldCount;
        var header = new string[count];
        for (var c = 0; c < count; c++)
        {
            header[c] = reader.GetName(c);
        }

        Hash(hash, header);
        yield return new CsvRows.Row(0, header);
        var line = 0;
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var fields = new string[count];
            for (var c = 0; c < count; c++)
            {
                fields[c] = Cell(reader, c);
            }

            Hash(hash, fields);
            yield return new CsvRows.Row(checked(++line), fields);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private static string Cell(DbDataReader reader, int column)
    {
        if (reader.IsDBNull(column))
        {
            return string.Empty;
        }

        return reader.GetValue(column) switch
        {
            string s => s,
            bool b => b ? "true" : "false",
            DateTime { Kind: DateTimeKind.Local } t => Utc(t.ToUniversalTime()),
            DateTime t => Utc(DateTime.SpecifyKind(t, DateTimeKind.Utc)),
            DateTimeOffset t => t.ToString("O", CultureInfo.InvariantCulture),
            char c => c.ToString(),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            var other => other.ToString() ?? string.Empty,
        };

        static string Utc(DateTime t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
    }

    private static void Hash(IncrementalHash hash, string[] fields)
    {
        var line = new StringBuilder();
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0)
            {
                line.Append(',');
            }

            var field = fields[i];
            if (field.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                line.Append('"').Append(field.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                line.Append(field);
            }
        }

        line.Append('\n');
        hash.AppendData(Encoding.UTF8.GetBytes(line.ToString()));
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    /// <summary>A provider's message, with the password cut out should it ever be echoed.</summary>
    private static string Scrub(string message, string connectionString)
    {
        message = OneLine(message);
        try
        {
            var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
            foreach (var key in s_secretKeys)
            {
                if (builder.TryGetValue(key, out var value) && value is string { Length: > 0 } secret)
                {
                    message = message.Replace(secret, "***", StringComparison.Ordinal);
                }
            }
        }
        catch (ArgumentException)
        {
        }

        return message;
    }
}
