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
    public static JurisdictionTable LoadFile(string path)
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

        return Load(bytes, path, isBuiltIn: false);
    }

    /// <summary>Loads a table from CSV bytes.</summary>
    public static JurisdictionTable Load(ReadOnlySpan<byte> csv, string displayName) => Load(csv.ToArray(), displayName, isBuiltIn: false);

    private static JurisdictionTable Load(byte[] csv, string displayName, bool isBuiltIn)
    {
        var regimes = new Dictionary<string, Regime>(StringComparer.Ordinal);
        var first = true;
        using var stream = new MemoryStream(csv, writable: false);
        foreach (var row in CsvRows.Read(stream, displayName))
        {
            var isHeader = first && string.Equals(row.Fields[0].Trim(), "code", StringComparison.OrdinalIgnoreCase);
            first = false;
            if (isHeader)
            {
                continue;
            }

            if (row.Fields.Length is < 2 or > 3)
            {
                throw new DataFileException(displayName, row.LineNumber, 0,
                    $"expected 2 or 3 fields (code,regime[,note]) but found {row.Fields.Length}");
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

            // A code listed twice keeps its most restrictive regime.
            regimes[code] = regimes.TryGetValue(code, out var existing) ? RegimeNames.Strictest(existing, regime) : regime;
        }

        return new JurisdictionTable(regimes, Convert.ToHexStringLower(SHA256.HashData(csv)), isBuiltIn, displayName);
    }
}
