using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using ConsentFilter.Internal;

namespace ConsentFilter.Jurisdictions;

/// <summary>Per-region regimes, looked up exact code → country of a subdivision → <c>*</c>.</summary>
public sealed class JurisdictionTable
{
    private const string BuiltInResourceName = "ConsentFilter.builtin-jurisdictions.csv";
    private const int StackBufferLength = 64;

    private readonly Dictionary<string, Regime> _regimes;
    private readonly Dictionary<string, Regime>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <summary>One more than the longest code: the most characters of a reading that can take part in a match.</summary>
    private readonly int _readingCapacity;

    private JurisdictionTable(Dictionary<string, Regime> regimes, string sha256, bool isBuiltIn, string source)
    {
        _regimes = regimes;
        _lookup = regimes.GetAlternateLookup<ReadOnlySpan<char>>();
        Sha256 = sha256;
        IsBuiltIn = isBuiltIn;
        Source = source;
        DefaultRegime = regimes.TryGetValue(RegionCode.Default, out var d) ? d : Regime.Excluded;
        _readingCapacity = regimes.Keys.Select(k => k.Length).DefaultIfEmpty(0).Max() + 1;
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

    /// <summary>Resolves the regime of a region as found (any case, untrimmed): the one place a region becomes a regime.</summary>
    /// <remarks>
    /// A region that, trimmed, holds only ASCII letters, digits and <c>-</c> is upper-cased and looked up: exact code, then
    /// the country of a subdivision, then <c>*</c>. Any other region resolves to the most restrictive regime among every
    /// reading of it (SPEC 2.1): upper-cased invariantly, with full Unicode case mapping (<c>ſy</c> → <c>SY</c>), ASCII-folded
    /// (<c>ＣＮ</c> → <c>CN</c>); each as is, with only its letters, digits and <c>-</c> (<c>CN-\ud800</c> → <c>CN-</c>), and
    /// with runs of other characters read as <c>-</c>; and <c>*</c>. Allocates nothing.
    /// </remarks>
    /// <param name="code">The region, in any case, possibly with surrounding white space.</param>
    /// <param name="matchedCode">The table code that decided: the code itself, its country, or <c>*</c>.</param>
    public Regime Resolve(ReadOnlySpan<char> code, out string matchedCode)
    {
        var trimmed = code.Trim();
        if (!RegionCode.IsPlain(trimmed))
        {
            return ResolveReadings(trimmed, out matchedCode);
        }

        return trimmed.ContainsAnyInRange('a', 'z')
            ? ResolveLowerCaseAscii(trimmed, out matchedCode)
            : Lookup(trimmed, complete: true, out matchedCode);
    }

    /// <summary>Resolves the regime of a region as found (any case, untrimmed).</summary>
    public Regime Resolve(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        return Resolve(code.AsSpan(), out _);
    }

    /// <summary>Exact code, then the country of a subdivision, then <c>*</c>.</summary>
    /// <param name="upperCode">An upper-cased reading, or its first <see cref="_readingCapacity"/> characters.</param>
    /// <param name="complete">False when <paramref name="upperCode"/> is only the start of a longer reading (no exact match then).</param>
    /// <param name="matchedCode">The table code that matched, or <c>*</c>.</param>
    private Regime Lookup(ReadOnlySpan<char> upperCode, bool complete, out string matchedCode)
    {
        if (complete && _lookup.TryGetValue(upperCode, out var actualKey, out var regime))
        {
            matchedCode = actualKey;
            return regime;
        }

        var country = RegionCode.CountryOf(upperCode);
        if (!country.IsEmpty && _lookup.TryGetValue(country, out actualKey, out regime))
        {
            matchedCode = actualKey;
            return regime;
        }

        matchedCode = RegionCode.Default;
        return DefaultRegime;
    }

    private Regime ResolveLowerCaseAscii(ReadOnlySpan<char> trimmed, out string matchedCode)
    {
        // Only the first _readingCapacity characters can take part in a match (no code is longer), so that many suffice.
        var n = Math.Min(trimmed.Length, _readingCapacity);
        char[]? rented = null;
        Span<char> buffer = n <= StackBufferLength ? stackalloc char[StackBufferLength] : (rented = ArrayPool<char>.Shared.Rent(n));
        Ascii.ToUpper(trimmed[..n], buffer, out _);
        var regime = Lookup(buffer[..n], complete: n == trimmed.Length, out matchedCode);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }

        return regime;
    }

    private Regime ResolveReadings(ReadOnlySpan<char> trimmed, out string matchedCode)
    {
        char[]? rented = null;
        Span<char> buffer = _readingCapacity <= StackBufferLength
            ? stackalloc char[StackBufferLength]
            : (rented = ArrayPool<char>.Shared.Rent(_readingCapacity));
        buffer = buffer[.._readingCapacity];

        // Reading (d), `*`, last: of equally strict readings the first names the code.
        Regime? strictest = null;
        matchedCode = RegionCode.Default;
        foreach (var casing in RegionReadings.Casings)
        {
            foreach (var shape in RegionReadings.Shapes)
            {
                var n = RegionReadings.Write(trimmed, casing, shape, buffer, out var complete);
                var regime = Lookup(buffer[..n], complete, out var code);
                if (strictest is null || regime > strictest.Value)
                {
                    strictest = regime;
                    matchedCode = code;
                }
            }
        }

        if (DefaultRegime > strictest!.Value)
        {
            strictest = DefaultRegime;
            matchedCode = RegionCode.Default;
        }

        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }

        return strictest.Value;
    }

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

        IO.Compression.ThrowIfCompressed(bytes.AsSpan(0, Math.Min(bytes.Length, IO.Compression.PeekLength)), path, "jurisdiction table");
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
