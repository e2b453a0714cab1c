using System.Security.Cryptography;
using ConsentFilter.Internal;

namespace ConsentFilter.Jurisdictions;

/// <summary>Per-region regimes, looked up exact code → country of a subdivision → <c>*</c>.</summary>
public sealed class JurisdictionTable
{
    private const string BuiltInResourceName = "ConsentFilter.builtin-jurisdictions.csv";

    private readonly Dictionary<string, Regime> _regimes;
    private readonly Dictionary<string, Regime>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private JurisdictionTable(Dictionary<string, Regime> regimes, string sha256, bool isBuiltIn, string source)
    {
        _regimes = regimes;
        _lookup = regimes.GetAlternateLookup<ReadOnlySpan<char>>();
        Sha256 = sha256;
        IsBuiltIn = isBuiltIn;
        Source = source;
        DefaultRegime = regimes.TryGetValue(RegionCode.Default, out var d) ? d : Regime.Excluded;
    }

    /// <summary>The date a dated table (one with <c>effective_from</c>) was resolved for; null for an undated table.</summary>
    public DateOnly? AsOf { get; private init; }

    /// <summary>Lowercase hex SHA-256 of the table file's bytes.</summary>
    public string Sha256 { get; }

    /// <summary>Whether this is the table shipped with the library.</summary>
    public bool IsBuiltIn { get; }

    /// <summary>The file the table came from (or <c>builtin</c>).</summary>
    public string Source { get; }

    /// <summary>The regime for unknown or missing regions: the <c>*</c> row, else <see cref="Regime.Excluded"/>.</summary>
    public Regime DefaultRegime { get; }

    /// <summary>The codes listed, normalized, with their regime.</summary>
    public IReadOnlyDictionary<string, Regime> Rows => _regimes;

    /// <summary>Resolves the regime of a region code.</summary>
    /// <param name="normalizedCode">A code already trimmed and upper-cased (<see cref="RegionCode.Normalize(string)"/>).</param>
    /// <param name="matchedCode">The table code that matched: the code itself, its country, or <c>*</c>.</param>
    public Regime Resolve(ReadOnlySpan<char> normalizedCode, out string matchedCode)
    {
        if (!normalizedCode.IsEmpty)
        {
            if (_lookup.TryGetValue(normalizedCode, out var actualKey, out var regime))
            {
                matchedCode = actualKey;
                return regime;
            }

            var country = RegionCode.CountryOf(normalizedCode);
            if (!country.IsEmpty && _lookup.TryGetValue(country, out actualKey, out regime))
            {
                matchedCode = actualKey;
                return regime;
            }
        }

        matchedCode = RegionCode.Default;
        return DefaultRegime;
    }

    /// <summary>Resolves the regime of a region code (normalizing it first).</summary>
    public Regime Resolve(string code) => Resolve(RegionCode.Normalize(code), out _);

    /// <summary>The table shipped with the library: a conservative starting point, not legal advice.</summary>
    public static JurisdictionTable BuiltIn => s_builtIn.Value;

    private static readonly Lazy<JurisdictionTable> s_builtIn = new(() =>
    {
        using var stream = typeof(JurisdictionTable).Assembly.GetManifestResourceStream(BuiltInResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {BuiltInResourceName} is missing.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Load(copy.ToArray(), "builtin", isBuiltIn: true);
    });

    /// <summary>Loads a table from a CSV file (<c>code,regime[,note]</c>).</summary>
    /// <exception cref="DataFileException">The file is unreadable or invalid; the message names file and line.</exception>
    public static JurisdictionTable LoadFile(string path) => LoadFile(path, null);

    /// <summary>Loads a table from CSV bytes.</summary>
    public static JurisdictionTable Load(ReadOnlySpan<byte> csv, string displayName) => Load(csv.ToArray(), displayName, isBuiltIn: false);

    /// <summary>Loads a table from CSV bytes, resolving <c>effective_from</c> rows at <paramref name="asOf"/> (null: today, UTC).</summary>
    public static JurisdictionTable Load(ReadOnlySpan<byte> csv, string displayName, DateOnly? asOf) => Load(csv.ToArray(), displayName, isBuiltIn: false, asOf);

    /// <summary>Loads a table file, resolving <c>effective_from</c> rows at <paramref name="asOf"/> (null: today, UTC).</summary>
    /// <exception cref="DataFileException">The file is unreadable or invalid; the message names file and line.</exception>
    public static JurisdictionTable LoadFile(string path, DateOnly? asOf)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, 0, 0, $"cannot read jurisdiction table: {e.Message}", e);
        }

        return Load(bytes, path, isBuiltIn: false, asOf);
    }

    private static JurisdictionTable Load(byte[] csv, string displayName, bool isBuiltIn, DateOnly? asOf = null)
    {
        var rows = new List<(string Code, Regime Regime, DateOnly? From)>();
        var first = true;
        var dateColumn = -1;
        using var stream = new MemoryStream(csv, writable: false);
        foreach (var row in CsvRows.Read(stream, displayName))
        {
            var isHeader = first && string.Equals(row.Fields[0].Trim(), "code", StringComparison.OrdinalIgnoreCase);
            first = false;
            if (isHeader)
            {
                // A dated table names its fourth column in the header: code,regime,note,effective_from.
                if (row.Fields.Length == 4 && string.Equals(row.Fields[3].Trim(), "effective_from", StringComparison.OrdinalIgnoreCase))
                {
                    dateColumn = 3;
                }

                continue;
            }

            if (dateColumn >= 0 ? row.Fields.Length != 4 : row.Fields.Length is < 2 or > 3)
            {
                throw new DataFileException(displayName, row.LineNumber, 0, dateColumn >= 0
                    ? $"expected 4 fields (code,regime,note,effective_from) but found {row.Fields.Length}"
                    : $"expected 2 or 3 fields (code,regime[,note]) but found {row.Fields.Length}"
                        + SeparatorHint.For(row.Fields, f => f.Length is >= 2 and <= 4, "line", "jurisdiction tables"));
            }

            var code = RegionCode.Normalize(row.Fields[0]);
            if (code.Length == 0)
            {
                throw new DataFileException(displayName, row.LineNumber, 1, "empty region code");
            }

            if (!RegimeNames.TryParse(row.Fields[1], out var regime))
            {
                throw new DataFileException(displayName, row.LineNumber, 2,
                    $"invalid regime '{row.Fields[1].Trim()}' (expected opt-out, opt-in or excluded)");
            }

            DateOnly? from = null;
            if (dateColumn >= 0 && row.Fields[dateColumn].Trim() is { Length: > 0 } text)
            {
                from = DateOnly.TryParseExact(text, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var date)
                    ? date
                    : throw new DataFileException(displayName, row.LineNumber, dateColumn + 1, $"invalid effective_from '{text}' (expected an ISO date, yyyy-MM-dd)");
            }

            rows.Add((code, regime, from));
        }

        var dated = rows.Any(r => r.From is not null);
        var day = dated ? asOf ?? DateOnly.FromDateTime(DateTime.UtcNow) : (DateOnly?)null;
        var regimes = new Dictionary<string, Regime>(StringComparer.Ordinal);
        foreach (var group in rows.GroupBy(r => r.Code, StringComparer.Ordinal))
        {
            // Per code: the latest row in force at the as-of date (undated rows are in force since always);
            // rows of that same date, or a code listed twice, keep the most restrictive regime.
            var inForce = group.Where(r => r.From is null || r.From <= day).ToList();
            if (inForce.Count == 0)
            {
                continue;
            }

            var latest = inForce.Max(r => r.From ?? DateOnly.MinValue);
            regimes[group.Key] = inForce.Where(r => (r.From ?? DateOnly.MinValue) == latest).Select(r => r.Regime).Aggregate(RegimeNames.Strictest);
        }

        return new JurisdictionTable(regimes, Convert.ToHexStringLower(SHA256.HashData(csv)), isBuiltIn, displayName) { AsOf = day };
    }
}
