using System.Globalization;
using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ConsentFilter.Tests.Consent;

/// <summary>
/// The consent CSV a filter run compiles in memory on every core: every file it reads gives the snapshot the sequential
/// loader gives, whatever the chunk size; every file it declines is still loaded (by the sequential loader, with its errors).
/// </summary>
public sealed class ConsentCsvParallelCompilerTests : IDisposable
{
    private static readonly string[] s_purposes = ["ai_training", "analytics"];

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Property(MaxTest = 400)]
    public Property ParallelCompile_AnyFileAnyChunkSize_DecidesAsTheSequentialLoader() => Prop.ForAll(
        Arbitraries.Files(),
        (Arbitraries.ConsentFile input) =>
        {
            var path = _temp.Write($"c{Guid.NewGuid():N}.csv", input.Bytes);
            try
            {
                var sequential = Outcome(() => ConsentCsvLoader.LoadFile(path, s_purposes, null));
                using var parallel = ConsentCsvParallelCompiler.TryCompile(path, s_purposes, long.MaxValue, input.ChunkBytes);
                if (parallel is null)
                {
                    // Declining is right for anything irregular, wrong for the plain valid files a filter run mostly gets.
                    return (!input.ExpectRead).Label($"declined a plain valid file\n{input}");
                }

                var compiled = Outcome(() => parallel);
                return (sequential == compiled).Label($"sequential: {sequential}\nparallel:   {compiled}\nchunk {input.ChunkBytes}\n{input}");
            }
            finally
            {
                File.Delete(path);
            }
        });

    [Fact]
    public void FilterLoad_PlainCsv_IsCompiledOnEveryCoreWithTheSourcesInfo()
    {
        var csv = new StringBuilder("user_id,region,ai_training,updated_at\n");
        for (var i = 0; i < 50_000; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"u{i % 40_000},{(i % 3 == 0 ? "de" : "US")},{(i % 2 == 0 ? "granted" : "denied")},2026-01-{1 + (i % 28):D2}T00:00:00Z\n");
        }

        var path = _temp.Write("c.csv", csv.ToString());
        using var filter = ConsentFilter.Pipeline.RecordFilter.Load(path, null, new ConsentFilter.Pipeline.ConsentFilterOptions { Purpose = "ai_training" });
        var loaded = ConsentCsvLoader.LoadFile(path, ["ai_training"], null);
        var snapshot = Assert.IsType<CompiledSnapshot>(filter.Policy.Snapshot);
        Assert.Equal(loaded.Info, snapshot.Info);
        Assert.Equal(40_000, snapshot.Info.Users);
        Assert.Equal(50_000, snapshot.Info.Rows);
        foreach (var (id, consent) in loaded.Users)
        {
            Assert.True(snapshot.TryGetUser(id, out var compiled));
            Assert.Equal(Describe(consent), Describe(compiled));
        }
    }

    [Theory]
    [InlineData("user_id,ai_training\n\"u\n1\",granted\n")]
    [InlineData("user_id,ai_training\nu1,\"granted\"x\n")]
    [InlineData("\"user_id\",ai_training\nu1,granted\n")]
    [InlineData("user_id,ai_training\ru1,granted\r")]
    [InlineData("user_id,ai_training\nu1,maybe\n")]
    [InlineData("user_id,ai_training\nu1,granted,extra\n")]
    [InlineData("user_id,purpose\nu1,granted\n")]
    [InlineData("")]
    public void Decline_IrregularOrInvalidFile_LeavesItToTheSequentialLoader(string content)
    {
        var path = _temp.Write("c.csv", content);
        Assert.Null(ConsentCsvParallelCompiler.TryCompile(path, ["ai_training"], long.MaxValue));
    }

    [Fact]
    public void Decline_InvalidUtf8OrCompressed_LeavesItToTheSequentialLoader()
    {
        var invalid = _temp.Write("bad.csv", [.. "user_id,ai_training\nu"u8, 0xFF, .. ",granted\n"u8]);
        Assert.Null(ConsentCsvParallelCompiler.TryCompile(invalid, ["ai_training"], long.MaxValue));
        var gzip = _temp.Write("c.csv", [0x1F, 0x8B, 0x08, 0x00, 0x00]);
        Assert.Null(ConsentCsvParallelCompiler.TryCompile(gzip, ["ai_training"], long.MaxValue));
        var namedCompressed = _temp.Write("consent.csv.zst", "user_id,ai_training\nu1,granted\n");
        Assert.Null(ConsentCsvParallelCompiler.TryCompile(namedCompressed, ["ai_training"], long.MaxValue));
        var plain = _temp.Write("ok.csv", "user_id,ai_training\nu1,granted\n");
        Assert.Null(ConsentCsvParallelCompiler.TryCompile(plain, ["ai_training"], maxBytes: 10));
        using var read = ConsentCsvParallelCompiler.TryCompile(plain, ["ai_training"], long.MaxValue);
        Assert.NotNull(read);
    }

    /// <summary>Info, then the consent of every id a generated file can hold (found or not), in a fixed order.</summary>
    private static string Outcome(Func<IConsentSnapshot> load)
    {
        try
        {
            var snapshot = load();
            var text = new StringBuilder();
            var info = snapshot.Info;
            text.Append(CultureInfo.InvariantCulture,
                $"{info.Source} {info.Sha256} users={info.Users} rows={info.Rows} conflicts={info.Conflicts} asof={info.AsOf?.ToString("O", CultureInfo.InvariantCulture)} {info.Form}\n");
            foreach (var id in Arbitraries.AllIds)
            {
                text.Append(CultureInfo.InvariantCulture, $"{id}: ")
                    .Append(snapshot.TryGetUser(Encoding.UTF8.GetBytes(id), out var consent) ? Describe(consent) : "-").Append('\n');
            }

            return text.ToString();
        }
        catch (DataFileException e)
        {
            return "error: " + e.Message;
        }
    }

    private static string Describe(UserConsent consent) =>
        $"{consent.States[0]} {consent.States[1]} gpc={consent.Gpc} minor={consent.Minor} [{string.Join('|', consent.HomeRegions)}]";

    /// <summary>Consent files: half plain (what this path reads), half with what it must decline; valid and invalid rows.</summary>
    internal static class Arbitraries
    {
        private static readonly string[] s_plainIds = ["u1", "u2", "u3", "ü4", "u5", " u6", "日本10", "😀11", "u 12"];
        private static readonly string[] s_quotedIds = ["\"u,6\"", "\"u\n7\"", "\"u\"\"8\"", "\"u1\"", "\",\"\"\""];
        private static readonly string[] s_plainRegions = ["", "DE", " us ", "US-CA", "cn", "de", "  "];
        private static readonly string[] s_plainConsent = ["granted", "denied", "", "unset", "YES", " no", "Opt_Out", "0"];
        private static readonly string[] s_plainBooleans = ["", "true", "false", "1", " yes ", "NO"];
        private static readonly string[] s_plainTimestamps =
            ["", "", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-01", "2026-02-01T01:00:00+01:00", "2026-01-15T00:00:00.5Z", " ", "\u00A0"];

        /// <summary>Rows the sequential loader rejects (each file that has one must be declined).</summary>
        private static readonly string[] s_invalid =
        [
            "u1,DE,maybe,granted,,,", "u1,DE,granted", ",DE,granted,granted,,,", "u2,DE,granted,granted,perhaps,,", "u3,DE,granted,granted,,,yesterday",
            "u4,DE,granted,granted,,,,extra", "u7,\"DE\"x,granted,granted,,,", "u8,D\"E,granted,granted,,,", "\"u9,DE,granted,granted,,,",
        ];

        internal static IEnumerable<string> AllIds => [.. s_plainIds, "u,6", "u\n7", "u\"8", ",\"", "u4", "u6"];

        public static Arbitrary<ConsentFile> Files() =>
            Gen.Choose(0, int.MaxValue).SelectMany(seed => Gen.Choose(0, 60).SelectMany(rows => Gen.Choose(1, 300).Select(chunk => (seed, rows, chunk))))
                .Select(t => Generate(new Random(t.seed), t.rows, t.chunk)).ToArbitrary();

        private static ConsentFile Generate(Random random, int rows, int chunkBytes)
        {
            var plain = random.Next(2) == 0;
            var loneCr = !plain && random.Next(4) == 0;
            var newline = loneCr ? "\r" : random.Next(3) == 0 ? "\r\n" : "\n";
            string Newline() => random.Next(10) == 0 ? (random.Next(2) == 0 ? "\r\n" : "\n") : newline;
            string Pick(string[] values) => values[random.Next(values.Length)];
            var text = new StringBuilder();
            if (random.Next(8) == 0)
            {
                text.Append(Newline());
            }

            var header = random.Next(12) != 0;
            if (header)
            {
                text.Append(random.Next(3) == 0 ? "User_Id , Region,AI_TRAINING,analytics,gpc,minor,updated_at" : "user_id,region,ai_training,analytics,gpc,minor,updated_at")
                    .Append(Newline());
            }

            var invalid = random.Next(5) == 0;
            var invalidUtf8 = !invalid && random.Next(10) == 0;
            var badRows = invalid ? new HashSet<int> { random.Next(rows + 1), random.Next(rows + 1) } : [];
            var hasBadRow = false;
            var multiline = false;
            // Some files quote some cells (RFC 4180), as exports that quote strings do.
            var quoting = random.Next(3) == 0;
            string Quote(string value) => quoting && random.Next(3) == 0 ? $"\"{value}\"" : value;
            for (var i = 0; i < rows; i++)
            {
                if (random.Next(12) == 0)
                {
                    text.Append(Newline());
                }

                if (badRows.Contains(i))
                {
                    hasBadRow = true;
                    text.Append(Pick(s_invalid)).Append(Newline());
                    continue;
                }

                var id = plain || random.Next(3) != 0 ? Quote(Pick(s_plainIds)) : Pick(s_quotedIds);
                multiline |= id.Contains('\n', StringComparison.Ordinal);
                text.Append(id).Append(',')
                    .Append(Quote(Pick(s_plainRegions))).Append(',')
                    .Append(Quote(Pick(s_plainConsent))).Append(',')
                    .Append(Quote(Pick(s_plainConsent))).Append(',')
                    .Append(Quote(Pick(s_plainBooleans))).Append(',')
                    .Append(Quote(Pick(s_plainBooleans))).Append(',')
                    .Append(Quote(Pick(s_plainTimestamps)));
                if (i < rows - 1 || random.Next(3) != 0)
                {
                    text.Append(Newline());
                }
            }

            var bytes = new List<byte>();
            if (random.Next(4) == 0)
            {
                bytes.AddRange("\uFEFF"u8.ToArray());
            }

            bytes.AddRange(Encoding.UTF8.GetBytes(text.ToString()));
            if (invalidUtf8 && bytes.Count > 0)
            {
                bytes.Insert(random.Next(bytes.Count), 0xFF);
            }

            // Read by the parallel path: everything but invalid rows or bytes, a lone CR and quoted cells spanning lines.
            var expectRead = header && !hasBadRow && !invalidUtf8 && !loneCr && !multiline;
            return new ConsentFile([.. bytes], chunkBytes, expectRead);
        }

        internal sealed record ConsentFile(byte[] Bytes, int ChunkBytes, bool ExpectRead)
        {
            public override string ToString() => Encoding.UTF8.GetString(Bytes).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n\n", StringComparison.Ordinal);
        }
    }
}
