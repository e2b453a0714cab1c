using System.Globalization;
using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Tests.Properties;

/// <summary>One row of a generated consent CSV, in model form; rendered with varied but equivalent spellings.</summary>
public sealed record ConsentRow(
    string UserId, string Region, ConsentState State, bool Gpc, bool Minor, DateTimeOffset? UpdatedAt, int Spelling, string Note);

/// <summary>One row of a generated jurisdiction table.</summary>
public sealed record TableRow(string Code, Regime Regime, int Spelling, string? Note);

/// <summary>What a generated line is, as the SPEC defines it.</summary>
public enum LineClass
{
    /// <summary>Whitespace only: skipped, not a record.</summary>
    Blank,

    /// <summary>Quarantined with <see cref="RecordLine.Error"/>.</summary>
    Malformed,

    /// <summary>A valid record, decided from its author, region and co-subjects.</summary>
    Decided,
}

/// <summary>A generated line: its bytes (without line ending), its ending, and what the SPEC says it is.</summary>
public sealed record RecordLine(byte[] Content, string Ending, LineClass Class, string? Error, string? Author, string? Region, string[] CoSubjects)
{
    public static RecordLine Blank(string content) => new(Encoding.UTF8.GetBytes(content), "\n", LineClass.Blank, null, null, null, []);

    public static RecordLine Malformed(byte[] content, string error) => new(content, "\n", LineClass.Malformed, error, null, null, []);

    public static RecordLine Decided(string json, string author, string? region, string[] coSubjects) =>
        new(Encoding.UTF8.GetBytes(json), "\n", LineClass.Decided, null, author, region, coSubjects);
}

/// <summary>One generated JSONL input.</summary>
public sealed record InputFile(bool Bom, IReadOnlyList<RecordLine> Lines)
{
    public byte[] ToBytes()
    {
        using var bytes = new MemoryStream();
        if (Bom)
        {
            bytes.Write([0xEF, 0xBB, 0xBF]);
        }

        foreach (var line in Lines)
        {
            bytes.Write(line.Content);
            bytes.Write(Encoding.ASCII.GetBytes(line.Ending));
        }

        return bytes.ToArray();
    }

    /// <summary>Lines the splitter sees: a last line that is empty and unterminated is no line at all.</summary>
    public IEnumerable<RecordLine> PhysicalLines => Lines.Where(l => l.Content.Length > 0 || l.Ending.Length > 0);
}

/// <summary>A whole generated world: consent snapshot, jurisdiction table and record inputs.</summary>
public sealed record Scenario(
    IReadOnlyList<ConsentRow> Rows,
    int[] ColumnOrder,
    bool QuoteAll,
    IReadOnlyList<TableRow> Table,
    bool TableHeader,
    IReadOnlyList<InputFile> Inputs,
    bool UnknownAsUnset = false,
    bool CsvBom = false)
{
    public const string Purpose = "ai_training";

    /// <summary>Lines longer than this (without the ending) are <c>line_too_long</c> in every run of the properties.</summary>
    /// <remarks>Above the 4096-byte batches of the properties, so long legal lines make the splitter grow its buffer.</remarks>
    public const int MaxLineLength = 9000;

    private static readonly string[] s_columns = ["user_id", "region", "ai_training", "gpc", "minor", "updated_at", "note"];

    private static readonly string[][] s_stateSpellings =
    [
        ["granted", "opted_in", "opt_in", "yes", "true", "1", " GRANTED ", "Opt_In"],
        ["", "unset", "none", "null", " ", "NULL", " None", "UNSET"],
        ["denied", "opted_out", "opt_out", "no", "false", "0", "DENIED ", "Opted_Out"],
    ];

    private static readonly string[][] s_boolSpellings =
    [
        ["false", "0", "no", "", " No ", "FALSE", "0", ""],
        ["true", "1", "yes", "TRUE", " Yes", "1", "true", "YES"],
    ];

    private static readonly string[][] s_regimeSpellings =
    [
        ["opt-out", "OPT-OUT", " Opt-Out "],
        ["opt-in", "OPT-IN", " opt-in"],
        ["excluded", "EXCLUDED", "Excluded "],
    ];

    /// <summary>The row's consent cell as the CSV spells it.</summary>
    public static string StateSpelling(ConsentRow row) => s_stateSpellings[(int)row.State][row.Spelling % 8];

    public byte[] ConsentCsv()
    {
        var csv = new StringBuilder();
        csv.Append(string.Join(',', ColumnOrder.Select(c => (c % 2 == 0 ? s_columns[c].ToUpperInvariant() : " " + s_columns[c])))).Append("\r\n");
        foreach (var row in Rows)
        {
            var cells = new[]
            {
                row.UserId,
                row.Region,
                StateSpelling(row),
                s_boolSpellings[row.Gpc ? 1 : 0][row.Spelling % 8],
                s_boolSpellings[row.Minor ? 1 : 0][(row.Spelling + 3) % 8],
                Timestamp(row.UpdatedAt, row.Spelling),
                row.Note,
            };
            csv.Append(string.Join(',', ColumnOrder.Select(c => Cell(cells[c])))).Append(row.Spelling % 3 == 0 ? "\n" : "\r\n");
        }

        return CsvBom ? [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(csv.ToString())] : Encoding.UTF8.GetBytes(csv.ToString());
    }

    public byte[] TableCsv()
    {
        var csv = new StringBuilder();
        if (TableHeader)
        {
            csv.Append("code,regime,note\n");
        }

        foreach (var row in Table)
        {
            var code = (row.Spelling % 3) switch { 0 => row.Code, 1 => row.Code.ToLowerInvariant(), _ => " " + row.Code + " " };
            csv.Append(code).Append(',').Append(s_regimeSpellings[(int)row.Regime][row.Spelling % 3]);
            if (row.Note is not null)
            {
                csv.Append(',').Append(Cell(row.Note, force: row.Note.Contains(',', StringComparison.Ordinal)));
            }

            csv.Append('\n');
        }

        return Encoding.UTF8.GetBytes(csv.ToString());
    }

    public ConsentPolicy BuildPolicy()
    {
        using var consent = new MemoryStream(ConsentCsv());
        var snapshot = ConsentSnapshot.LoadCsv(consent, "consent.csv", [Purpose]);
        var table = JurisdictionTable.Load(TableCsv(), "jurisdictions.csv");
        return new ConsentPolicy(snapshot, table, Purpose, UnknownUsers);
    }

    public UnknownUserPolicy UnknownUsers => UnknownAsUnset ? UnknownUserPolicy.TreatAsUnset : UnknownUserPolicy.Drop;

    public ConsentFilterOptions Options(int degreeOfParallelism, int batchBytes, int channelCapacity = 8)
    {
        var options = new ConsentFilterOptions
        {
            UnknownUsers = UnknownUsers,
            MaxDegreeOfParallelism = degreeOfParallelism,
            BatchBytes = batchBytes,
            ChannelCapacity = channelCapacity,
            MaxLineLength = MaxLineLength,
        };
        options.SubjectFields.Add("recipients");
        options.SubjectFields.Add("meta.mentions");
        return options;
    }

    public Scenario WithRows(IReadOnlyList<ConsentRow> rows) => this with { Rows = rows };

    public Scenario WithTable(IReadOnlyList<TableRow> table) => this with { Table = table };

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"unknown users: {UnknownUsers}, consent BOM: {CsvBom}\n");
        text.Append("--- consent.csv ---\n").Append(Encoding.UTF8.GetString(ConsentCsv()));
        text.Append("--- jurisdictions.csv ---\n").Append(Encoding.UTF8.GetString(TableCsv()));
        for (var i = 0; i < Inputs.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"--- input{i}.jsonl (bom: {Inputs[i].Bom}) ---\n");
            foreach (var line in Inputs[i].Lines)
            {
                var content = line.Content.Length > 300
                    ? $"<{line.Content.Length} bytes> " + Encoding.UTF8.GetString(line.Content, 0, 60) + "…"
                    : Encoding.UTF8.GetString(line.Content);
                text.Append(CultureInfo.InvariantCulture, $"{content}{(line.Ending == "\r\n" ? "␍" : string.Empty)}{(line.Ending.Length == 0 ? "⊣" : string.Empty)}   # {line.Class} {line.Error}\n");
            }
        }

        return text.ToString();
    }

    private string Cell(string value, bool force = false) =>
        QuoteAll || force || value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    private static string Timestamp(DateTimeOffset? value, int spelling)
    {
        if (value is not { } ts)
        {
            return string.Empty;
        }

        return (spelling % 3) switch
        {
            0 => ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            1 => ts.ToOffset(TimeSpan.FromHours(2)).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
            _ => ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture),
        };
    }
}
