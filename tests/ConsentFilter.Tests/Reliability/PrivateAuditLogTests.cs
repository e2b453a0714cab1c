using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Reliability;

/// <summary>
/// No raw id or record content reaches the report, the rejection log, standard output or standard error, nor the
/// message of a failing run (issue 5, item 6). The kept output holds records by design and the quarantine holds the raw
/// malformed line by design (docs/reliability.md), so only those two are not searched; the rejection log may echo a
/// dropped record's id field (SPEC 4), never a user id or other content.
/// </summary>
public sealed class PrivateAuditLogTests : IDisposable
{
    private const string HashKey = "k3y-for-audit-logs-0d41";

    // Distinctive ids and content: any occurrence anywhere is a leak, whatever its context.
    private static readonly string[] s_rawIds =
    [
        "rawid-ALLOWED-5c1e", "rawid-DENIED-77ab", "rawid-MINOR-90fd", "rawid-UNKNOWN-3be2", "rawid-COSUBJECT-e4a0", "rawid-NOOPTIN-0c3d",
        "918273645546372819",
    ];

    private static readonly string[] s_rawContent = ["secret-text-b7c9"];

    // SPEC 4: the rejection log echoes the record id (it is how a dropped record is found again); nothing else may.
    private static readonly string[] s_recordIds = ["recordid-R2-aa31", "recordid-R3-aa32"];

    private readonly TempDirectory _dir = new();

    public PrivateAuditLogTests()
    {
        _dir.Write("consent.csv", """
            user_id,region,ai_training,minor
            rawid-ALLOWED-5c1e,US,granted,false
            rawid-DENIED-77ab,US,denied,false
            rawid-MINOR-90fd,US,granted,true
            rawid-COSUBJECT-e4a0,US,denied,false
            rawid-NOOPTIN-0c3d,DE,unset,false
            918273645546372819,US,denied,false

            """);
        _dir.Write("jurisdictions.csv", "code,regime\nUS,opt-out\nDE,opt-in\n*,excluded\n");
        _dir.Write("records.jsonl", string.Join('\n',
            "{\"id\":\"r1\",\"user_id\":\"rawid-ALLOWED-5c1e\",\"text\":\"secret-text-b7c9\"}",
            "{\"id\":\"recordid-R2-aa31\",\"user_id\":\"rawid-DENIED-77ab\",\"text\":\"secret-text-b7c9\"}",
            "{\"id\":\"r3\",\"user_id\":\"rawid-MINOR-90fd\",\"text\":\"secret-text-b7c9\"}",
            "{\"id\":\"r4\",\"user_id\":\"rawid-UNKNOWN-3be2\",\"text\":\"secret-text-b7c9\"}",
            "{\"id\":\"r5\",\"user_id\":\"rawid-ALLOWED-5c1e\",\"recipients\":[\"rawid-COSUBJECT-e4a0\"],\"text\":\"secret-text-b7c9\"}",
            "{\"id\":\"r6\",\"user_id\":\"rawid-NOOPTIN-0c3d\",\"region\":\"DE\",\"text\":\"secret-text-b7c9\"}",
            "{\"id\":7,\"user_id\":918273645546372819,\"text\":\"secret-text-b7c9\"}",
            "{\"id\":\"r8\",\"user_id\":\"rawid-ALLOWED-5c1e\",\"text\":\"secret-text-b7c9\",}",
            "{\"id\":\"recordid-R3-aa32\",\"user_id\":\"rawid-UNKNOWN-3be2\",\"region\":7}") + "\n");
        _dir.Write("key.txt", HashKey + "\n");
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Filter_WithAHashKey_NoArtefactHoldsARawIdOrAPlainHash(bool keyFromFile)
    {
        string[] args =
        [
            "filter", "--records", "records.jsonl", "--consent", "consent.csv", "--jurisdictions", "jurisdictions.csv",
            "--subject-field", "recipients", "--out", "out/kept.jsonl", "--rejected", "out/rejected.jsonl", "--quarantine", "out/quarantine.jsonl",
            .. keyFromFile ? new[] { "--hash-key-file", "key.txt" } : [],
        ];
        var environment = keyFromFile ? null : new Dictionary<string, string> { ["CONSENTFILTER_HASH_KEY"] = HashKey };

        // Once with the report on standard output, once in a file: every place it can go.
        var toStdout = await CliProcess.RunAsync(_dir.Path, args, stdin: null, environment);
        var toFile = await CliProcess.RunAsync(_dir.Path, [.. args, "--report", "out/report.json"], stdin: null, environment);

        Assert.True(toStdout.ExitCode == 0, toStdout.ToString());
        Assert.True(toFile.ExitCode == 0, toFile.ToString());
        var rejected = File.ReadAllText(_dir.File("out/rejected.jsonl"));
        var artefacts = new Dictionary<string, string>
        {
            ["stdout (report)"] = toStdout.StdOut,
            ["stderr"] = toStdout.StdErr + toFile.StdErr,
            ["stdout"] = toFile.StdOut,
            ["report.json"] = File.ReadAllText(_dir.File("out/report.json")),
            ["rejected.jsonl"] = rejected,
            ["kept.jsonl.manifest.json"] = File.ReadAllText(_dir.File("out/kept.jsonl.manifest.json")),
        };
        foreach (var name in Directory.EnumerateFiles(_dir.File("out"), "*", new EnumerationOptions { AttributesToSkip = 0 }).Select(Path.GetFileName))
        {
            Assert.Contains(name, new[] { "kept.jsonl", "kept.jsonl.manifest.json", "rejected.jsonl", "quarantine.jsonl", "report.json" });
        }

        AssertNoLeak(artefacts);

        // Keyed: a leaked log cannot be matched by hashing a list of known ids.
        var entries = rejected.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(6, entries.Count);
        Assert.All(entries, e => Assert.False(e.TryGetProperty("user_sha256", out _)));
        var hmacs = entries.Select(e => e.GetProperty("user_hmac_sha256").GetString()).ToHashSet();
        Assert.Contains(Hmac("rawid-DENIED-77ab"), hmacs);
        Assert.Contains(Hmac("918273645546372819"), hmacs);
        foreach (var id in s_rawIds)
        {
            Assert.DoesNotContain(Sha256(id), rejected, StringComparison.Ordinal);
        }

        // The two documented exceptions do hold what they must.
        Assert.Contains("rawid-ALLOWED-5c1e", File.ReadAllText(_dir.File("out/kept.jsonl")), StringComparison.Ordinal);
        Assert.Contains("rawid-UNKNOWN-3be2", File.ReadAllText(_dir.File("out/quarantine.jsonl")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Filter_InvalidConsentCell_ErrorNamesFileLineAndColumnButNoId()
    {
        _dir.Write("bad-consent.csv", "user_id,region,ai_training\nrawid-ALLOWED-5c1e,US,granted\nrawid-DENIED-77ab,US,maybe\n");

        var result = await CliProcess.RunAsync(_dir.Path,
            "filter", "--records", "records.jsonl", "--consent", "bad-consent.csv", "--out", "out/kept.jsonl", "--rejected", "out/rejected.jsonl");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("consentfilter: error: bad-consent.csv:3:3:", Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        AssertNoLeak(new Dictionary<string, string> { ["stderr"] = result.StdErr, ["stdout"] = result.StdOut });
        Assert.False(Directory.Exists(_dir.File("out")) && Directory.EnumerateFileSystemEntries(_dir.File("out")).Any());
    }

    [Fact]
    public async Task RunToFilesAsync_FailingAtEveryWrite_ExceptionMessagesHoldNoRawIdOrContent()
    {
        var options = new ConsentFilterOptions { UserIdHashKey = HashKey, MaxDegreeOfParallelism = 2 };
        options.SubjectFields.Add("recipients");
        using var filter = RecordFilter.Load(_dir.File("consent.csv"), _dir.File("jurisdictions.csv"), options);
        var outputs = new FilterFileOutputs(_dir.File("out/kept.jsonl"), _dir.File("out/rejected.jsonl"), _dir.File("out/quarantine.jsonl"), _dir.File("out/report.json"));
        var counting = new FaultInjectingFileSystem();
        filter.FileSystem = counting;
        await filter.RunToFilesAsync([_dir.File("records.jsonl")], outputs);

        foreach (var kind in new[] { FileOperation.Read, FileOperation.Write, FileOperation.Flush, FileOperation.Rename })
        {
            for (var n = 1; n <= counting.Count(kind); n++)
            {
                filter.FileSystem = new FaultInjectingFileSystem { FailKind = kind, FailAt = n, Error = FaultError.DiskFull };
                var thrown = await Record.ExceptionAsync(() => filter.RunToFilesAsync([_dir.File("records.jsonl")], outputs));
                Assert.NotNull(thrown);

                // ToString holds every message of the chain (what the CLI prints is the outermost one).
                AssertNoLeak(new Dictionary<string, string> { [$"{kind} #{n}: exception"] = thrown.ToString() });
            }
        }
    }

    private static void AssertNoLeak(Dictionary<string, string> artefacts)
    {
        foreach (var (name, text) in artefacts)
        {
            var recordIds = name == "rejected.jsonl" ? [] : s_recordIds;
            foreach (var secret in s_rawIds.Concat(s_rawContent).Concat(recordIds).Append(HashKey))
            {
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{name} contains '{secret}':\n{text}");
            }
        }
    }

    private static string Sha256(string id) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)));

    private static string Hmac(string id) => Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(HashKey), Encoding.UTF8.GetBytes(id)));
}
