using System.Globalization;
using System.Text;

namespace ConsentFilter.Benchmarks;

/// <summary>Writes a deterministic benchmark corpus: records (~600 bytes/line), consent CSV and jurisdiction table.</summary>
internal static class CorpusGenerator
{
    private static readonly string[] s_regions = ["DE", "FR", "US", "US-CA", "US-TX", "GB", "BR", "CN", "JP", "IN", "CA", "ES", "IT", "NL", "PL"];
    private static readonly string[] s_consent = ["granted", "granted", "granted", "unset", "unset", "denied"];
    private static readonly string[] s_words =
        ["the", "model", "data", "user", "post", "network", "privacy", "consent", "profile", "message", "career", "team",
         "project", "launch", "great", "today", "thanks", "hiring", "engineer", "learning", "growth", "open", "source", "café", "naïve"];

    internal sealed record Corpus(string Records, string Consent, string Jurisdictions, long Bytes, int RecordCount);

    internal static Corpus Generate(string directory, int records, int users, int seed)
    {
        Directory.CreateDirectory(directory);
        var recordsPath = Path.Combine(directory, $"records-{records}-{users}-{seed}.jsonl");
        var consentPath = Path.Combine(directory, $"consent-{users}-{seed}.csv");
        var tablePath = Path.Combine(directory, "jurisdictions.csv");

        if (!File.Exists(consentPath))
        {
            WriteConsent(consentPath, users, seed);
        }

        File.WriteAllText(tablePath,
            "code,regime,note\nDE,opt-in,\nFR,opt-in,\nGB,opt-in,\nBR,opt-in,\nJP,opt-in,\nIN,opt-in,\nCA,opt-in,\nES,opt-in,\nIT,opt-in,\nNL,opt-in,\nPL,opt-in,\n" +
            "US,opt-out,\nUS-CA,opt-out,\nCN,excluded,\n*,excluded,\n");

        if (!File.Exists(recordsPath))
        {
            WriteRecords(recordsPath, records, users, seed);
        }

        return new Corpus(recordsPath, consentPath, tablePath, new FileInfo(recordsPath).Length, records);
    }

    private static void WriteConsent(string path, int users, int seed)
    {
        var random = new Random(seed);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        writer.Write("user_id,region,ai_training,gpc,minor,updated_at\n");
        for (var u = 0; u < users; u++)
        {
            var region = s_regions[random.Next(s_regions.Length)];
            var consent = s_consent[random.Next(s_consent.Length)];
            var gpc = random.Next(10) == 0 ? "true" : "false";
            var minor = random.Next(50) == 0 ? "true" : "false";
            writer.Write(string.Create(CultureInfo.InvariantCulture, $"u{u},{region},{consent},{gpc},{minor},2026-11-01T00:00:00Z\n"));
        }
    }

    private static void WriteRecords(string path, int records, int users, int seed)
    {
        var random = new Random(seed + 1);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        var text = new StringBuilder();
        for (var r = 0; r < records; r++)
        {
            // 2 % of authors are not in the snapshot.
            var user = random.Next(50) == 0 ? users + random.Next(users) : random.Next(users);
            text.Clear();
            var targetLength = 270 + random.Next(360);
            while (text.Length < targetLength)
            {
                text.Append(s_words[random.Next(s_words.Length)]).Append(' ');
            }

            writer.Write("{\"id\":\"r");
            writer.Write(r.ToString(CultureInfo.InvariantCulture));
            writer.Write("\",\"user_id\":\"u");
            writer.Write(user.ToString(CultureInfo.InvariantCulture));
            writer.Write('"');
            if (random.Next(3) == 0)
            {
                writer.Write(",\"region\":\"");
                writer.Write(s_regions[random.Next(s_regions.Length)]);
                writer.Write('"');
            }

            writer.Write(",\"created_at\":\"2026-10-");
            writer.Write((1 + random.Next(28)).ToString("00", CultureInfo.InvariantCulture));
            writer.Write("T12:00:00Z\",\"meta\":{\"lang\":\"en\",\"source\":\"feed\",\"likes\":");
            writer.Write(random.Next(1000).ToString(CultureInfo.InvariantCulture));
            writer.Write("},\"text\":\"");
            writer.Write(text.ToString().TrimEnd());
            writer.Write('"');
            if (random.Next(5) == 0)
            {
                writer.Write(",\"recipients\":[");
                var count = 1 + random.Next(3);
                for (var i = 0; i < count; i++)
                {
                    if (i > 0)
                    {
                        writer.Write(',');
                    }

                    writer.Write("\"u");
                    writer.Write(random.Next(users).ToString(CultureInfo.InvariantCulture));
                    writer.Write('"');
                }

                writer.Write(']');
            }

            writer.Write("}\n");
        }
    }
}
