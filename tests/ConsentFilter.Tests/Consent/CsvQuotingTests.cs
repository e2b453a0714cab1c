using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Jurisdictions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Consent;

/// <summary>
/// Quoting in the consent and jurisdiction CSVs is RFC 4180's, and anything else stops the load: a stray or unclosed quote
/// must never fold the rows after it into one cell (a later opt-out, an <c>excluded</c> region silently gone).
/// </summary>
public sealed class CsvQuotingTests
{
    public static TheoryData<string, int, int, string> BadConsent => new()
    {
        // An unclosed quote in an ignored column: the later denial of u1 was swallowed and u1 kept.
        { "user_id,region,ai_training,updated_at,comment\nu1,US,granted,2026-01-01T00:00:00Z,ok\nu2,US,granted,,\"oops\nu1,US,denied,2026-02-01T00:00:00Z,withdrawn\n", 3, 5, "never closed" },
        // Two stray quotes inside unquoted ids: the rows between them became one id.
        { "user_id,region,ai_training,updated_at\nu1,US,granted,2026-01-01T00:00:00Z\na\"b,US,granted,\nu1,US,denied,2026-02-01T00:00:00Z\nc\",US,granted,\n", 3, 1, "inside an unquoted field" },
        { "user_id,region,ai_training\n\"u1\"x,US,granted\n", 2, 1, "after the closing quote" },
        { "user_id,region,ai_training\n\"u2\" ,US,granted\n", 2, 1, "after the closing quote" },
        { "user_id,region,ai_training\nu1,\"US,granted\n", 2, 2, "never closed" },
        { "user_id,region,\"ai_training\n", 1, 3, "never closed" },
    };

    [Theory]
    [MemberData(nameof(BadConsent))]
    public void ConsentCsv_BadQuoting_LoadErrorAtTheRowsLine(string csv, int line, int column, string problem)
    {
        var error = Assert.Throws<DataFileException>(() => ConsentSnapshot.LoadCsv(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "c.csv", ["ai_training"]));

        Assert.Equal(line, error.Line);
        Assert.Equal(column, error.Column);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConsentCsv_LargeFileWithAStrayQuoteNearTheEnd_TheParallelLoadFailsToo()
    {
        // Large enough for the chunked parsers; the bad row is far from the start and the denial after it.
        var csv = new StringBuilder("user_id,region,ai_training,updated_at\n");
        for (var i = 0; i < 200_000; i++)
        {
            csv.Append('u').Append(i).Append(",US,granted,2026-01-01T00:00:00Z\n");
            if (i == 150_000)
            {
                csv.Append("x\"y,US,granted,\n");
            }
        }

        csv.Append("u7,US,denied,2026-02-01T00:00:00Z\n");
        var path = Path.Combine(Path.GetTempPath(), $"cf-quote-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, csv.ToString());
        try
        {
            var load = Assert.Throws<DataFileException>(() => ConsentSnapshot.LoadCsv(path, ["ai_training"]));
            var build = Assert.Throws<DataFileException>(() => CompiledSnapshotBuilder.BuildFromCsv(path, path + ".snap", ["ai_training"]));

            Assert.Equal(150_003, load.Line);
            Assert.Equal(150_003, build.Line);
            Assert.False(File.Exists(path + ".snap"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("code,regime,note\n*,opt-out,default\nUS,opt-out,state laws (5\" rule)\nCN,excluded,PIPL\n", 3, 3)]
    [InlineData("code,regime\n*,opt-out\nUS,\"opt-out\nCN,excluded\n", 3, 2)]
    public void JurisdictionCsv_BadQuoting_LoadErrorNotALostRow(string csv, int line, int column)
    {
        var error = Assert.Throws<DataFileException>(() => JurisdictionTable.Load(Encoding.UTF8.GetBytes(csv), "j.csv"));

        Assert.Equal(line, error.Line);
        Assert.Equal(column, error.Column);
    }

    [Fact]
    public void ConsentCsv_Rfc4180Quoting_ReadAsWritten()
    {
        var snapshot = ConsentSnapshot.LoadCsv(
            new MemoryStream("user_id,region,ai_training\n\"u\"\"1\",\"US\",granted\n\"u,2\",\"\",\"denied\"\n\"u\n3\",DE,granted\n"u8.ToArray()),
            "c.csv", ["ai_training"]);

        Assert.Equal(3, snapshot.Info.Users);
        Assert.True(snapshot.TryGetUser("u\"1"u8, out var first));
        Assert.Equal(["US"], first.HomeRegions);
        Assert.True(snapshot.TryGetUser("u,2"u8, out var second));
        Assert.Equal(ConsentState.Denied, second.States[0]);
        Assert.True(snapshot.TryGetUser("u\n3"u8, out _));
    }

    /// <summary>
    /// One quote inserted anywhere in a valid file: the load fails, or it reads every row there was (a quote next to a
    /// quote inside a quoted cell is a doubled quote, and the file stays valid) — never fewer rows and success.
    /// </summary>
    [Property(MaxTest = 300)]
    public Property InsertedQuote_FailsOrLosesNoRow() => Prop.ForAll(
        Gen.Choose(0, 1_000_000).ToArbitrary(),
        seed =>
        {
            var random = new Random(seed);
            var rows = random.Next(2, 12);
            var csv = new StringBuilder("user_id,region,ai_training,note\n");
            for (var i = 0; i < rows; i++)
            {
                string Cell(string value) => random.Next(3) == 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
                csv.Append(Cell($"u{i}")).Append(',').Append(Cell(random.Next(2) == 0 ? "US" : "DE")).Append(',')
                    .Append(Cell(random.Next(2) == 0 ? "granted" : "denied")).Append(',')
                    .Append(random.Next(3) == 0 ? "\"a, \"\"b\"\"\nc\"" : "plain").Append('\n');
            }

            var text = csv.ToString();
            var at = random.Next(0, text.Length + 1);
            var mutated = text[..at] + "\"" + text[at..];
            try
            {
                var snapshot = ConsentSnapshot.LoadCsv(new MemoryStream(Encoding.UTF8.GetBytes(mutated)), "c.csv", ["ai_training"]);
                return (snapshot.Info.Rows == rows).Label($"loaded {snapshot.Info.Rows} rows of {rows} from:\n{mutated}");
            }
            catch (DataFileException)
            {
                return true.ToProperty();
            }
        });
}
