using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ConsentFilter.Internal;
using Parquet;
using Parquet.Data;
using Parquet.Schema;

namespace ConsentFilter.Consent;

/// <summary>Reads a consent snapshot from Parquet: the columns of the consent CSV, merged by the CSV loader's rules.</summary>
/// <remarks>
/// Each cell becomes the text the CSV would hold and goes through <see cref="ConsentCsvLoader.FromRows"/>, so both
/// forms validate and merge identically: strings as they are, booleans <c>true</c>/<c>false</c>, integers in decimal,
/// timestamps as ISO 8601 (UTC when not adjusted), null as an empty cell. Column names are matched as CSV headers are
/// (trimmed, case-insensitive). Error positions are 1-based row numbers where a CSV error names a line.
/// </remarks>
internal static class ConsentParquetLoader
{
    private static readonly HashSet<Type> s_textual =
    [
        typeof(ReadOnlyMemory<char>), typeof(ReadOnlyMemory<byte>), typeof(bool), typeof(sbyte), typeof(byte), typeof(short), typeof(ushort),
        typeof(int), typeof(uint), typeof(long), typeof(ulong), typeof(DateTime), typeof(DateTimeOffset),
    ];

    /// <summary>The four bytes every Parquet file starts (and ends) with.</summary>
    internal static ReadOnlySpan<byte> Magic => "PAR1"u8;

    internal static bool IsParquet(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 16);
        Span<byte> head = stackalloc byte[4];
        return file.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && head.SequenceEqual(Magic);
    }

    internal static ConsentSnapshot LoadFile(string path, IReadOnlyList<string> purposes, DateTimeOffset? asOf)
    {
        ParquetSupport.EnsureAvailable(path);
        try
        {
            string sha256;
            using (var file = File.OpenRead(path))
            {
                sha256 = Convert.ToHexStringLower(SHA256.HashData(file));
            }

            return ConsentCsvLoader.FromRows(Rows(path, purposes), path, purposes, asOf, () => sha256);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, 0, 0, $"cannot read consent Parquet file: {e.Message}", e);
        }
    }

    private static IEnumerable<CsvRows.Row> Rows(string path, IReadOnlyList<string> purposes)
    {
        // The loader is synchronous (snapshots load before a run starts), Parquet.Net asynchronous.
        var reader = ParquetReader.CreateAsync(path, null, CancellationToken.None).GetAwaiter().GetResult();
        try
        {
            foreach (var row in Rows(reader, path, purposes))
            {
                yield return row;
            }
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static IEnumerable<CsvRows.Row> Rows(ParquetReader reader, string path, IReadOnlyList<string> purposes)
    {
        var fields = reader.Schema.Fields;
        var read = new HashSet<string>(["user_id", "region", "gpc", "minor", "updated_at", .. purposes.Select(p => p.Trim().ToLowerInvariant())], StringComparer.Ordinal);
        var readable = new bool[fields.Count];
        for (var c = 0; c < fields.Count; c++)
        {
            readable[c] = fields[c] is DataField { MaxRepetitionLevel: 0 } data && s_textual.Contains(data.ClrType);
            if (!readable[c] && read.Contains(fields[c].Name.Trim().ToLowerInvariant()))
            {
                throw new DataFileException(path, 0, c + 1, $"column '{fields[c].Name}' must be a scalar column of strings, booleans, integers or timestamps");
            }
        }

        yield return new CsvRows.Row(0, [.. fields.Select(f => f.Name)]);

        var rowNumber = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var rowGroup = reader.OpenRowGroupReader(g);
            var rowCount = checked((int)rowGroup.RowCount);
            var columns = new string[]?[fields.Count];
            for (var c = 0; c < fields.Count; c++)
            {
                // Columns the loader does not read (other purposes, unrelated data) stay empty, whatever their type.
                columns[c] = readable[c] ? ReadColumn(rowGroup, (DataField)fields[c], rowCount, path) : null;
            }

            for (var r = 0; r < rowCount; r++)
            {
                var cells = new string[fields.Count];
                for (var c = 0; c < cells.Length; c++)
                {
                    cells[c] = columns[c]?[r] ?? string.Empty;
                }

                yield return new CsvRows.Row(rowNumber + r + 1, cells);
            }

            rowNumber += rowCount;
        }
    }

    private static string[] ReadColumn(ParquetRowGroupReader rowGroup, DataField field, int rowCount, string path)
    {
        using var raw = rowGroup.ReadRawColumnDataBaseAsync(field, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var cells = new string[rowCount];
        var maxDef = field.MaxDefinitionLevel;
        ReadOnlySpan<int> definitions = maxDef > 0 ? raw.DefinitionLevels : default;
        var value = 0;
        for (var r = 0; r < rowCount; r++)
        {
            if (maxDef > 0 && definitions[r] != maxDef)
            {
                cells[r] = string.Empty;
                continue;
            }

            cells[r] = Text(raw, value++, field, path, r);
        }

        return cells;
    }

    private static string Text(RawColumnData raw, int i, DataField field, string path, int row) => raw switch
    {
        RawColumnData<ReadOnlyMemory<char>> r => r.Values[i].ToString(),
        RawColumnData<ReadOnlyMemory<byte>> r => Utf8(r.Values[i].Span, path, row),
        RawColumnData<bool> r => r.Values[i] ? "true" : "false",
        RawColumnData<sbyte> r => Integer(r.Values[i]),
        RawColumnData<byte> r => Integer(r.Values[i]),
        RawColumnData<short> r => Integer(r.Values[i]),
        RawColumnData<ushort> r => Integer(r.Values[i]),
        RawColumnData<int> r => Integer(r.Values[i]),
        RawColumnData<uint> r => Integer(r.Values[i]),
        RawColumnData<long> r => Integer(r.Values[i]),
        RawColumnData<ulong> r => Integer(r.Values[i]),
        RawColumnData<DateTime> r => Timestamp(r.Values[i]),
        RawColumnData<DateTimeOffset> r => r.Values[i].ToString("O", CultureInfo.InvariantCulture),
        _ => throw new DataFileException(path, row + 1, 0, $"column '{field.Name}' holds values of type {field.ClrType.Name}"),
    };

    private static string Integer<T>(T value)
        where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);

    private static string Timestamp(DateTime value)
    {
        // A timestamp not adjusted to UTC has no zone; like a CSV timestamp without offset it is taken as UTC.
        return DateTime.SpecifyKind(value, DateTimeKind.Utc).ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", CultureInfo.InvariantCulture);
    }

    private static string Utf8(ReadOnlySpan<byte> value, string path, int row)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(value);
        }
        catch (DecoderFallbackException e)
        {
            throw new DataFileException(path, row + 1, 0, "invalid UTF-8 in a binary column", e);
        }
    }
}
