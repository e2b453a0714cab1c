using System.Globalization;
using System.Text;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// Writes a deterministic benchmark corpus: the same records as JSON Lines and as CSV, a consent CSV and a
/// jurisdiction table. Two kinds: <c>ascii</c> (the original ~600-byte lines of ASCII words, string ids, arrays of
/// co-subjects) and <c>realistic</c> (issue 13: a dozen scripts, 4-byte emoji, JSON escapes, lines from ~80 B to
/// ~20 KB with a median near 500 B, integer and string ids, co-subjects as arrays and scalars, nested objects).
/// </summary>
internal static class CorpusGenerator
{
    private static readonly string[] s_regions = ["DE", "FR", "US", "US-CA", "US-TX", "GB", "BR", "CN", "JP", "IN", "CA", "ES", "IT", "NL", "PL"];
    private static readonly string[] s_consent = ["granted", "granted", "granted", "unset", "unset", "denied"];
    private static readonly string[] s_words =
        ["the", "model", "data", "user", "post", "network", "privacy", "consent", "profile", "message", "career", "team",
         "project", "launch", "great", "today", "thanks", "hiring", "engineer", "learning", "growth", "open", "source", "café", "naïve"];

    /// <summary>Word pools by script for the realistic corpus; the weights below pick a post's main script.</summary>
    private static readonly string[][] s_scripts =
    [
        s_words,
        ["café", "naïve", "Müller", "über", "Straße", "año", "façade", "smörgåsbord", "Łódź", "żółw", "crème", "brûlée", "déjà", "São", "Paulo", "čeština", "Ærø", "fiancée", "Zürich", "résumé"],
        ["привет", "мир", "данные", "модель", "конфиденциальность", "согласие", "пользователь", "сеть", "сообщение", "работа"],
        ["γειά", "σου", "κόσμε", "δεδομένα", "συναίνεση", "ιδιωτικότητα", "χρήστης", "δίκτυο"],
        ["你好", "世界", "数据", "模型", "隐私", "同意", "用户", "こんにちは", "データ", "プライバシー", "개인정보", "동의", "사용자"],
        ["नमस्ते", "दुनिया", "डेटा", "गोपनीयता", "सहमति", "उपयोगकर्ता", "संदेश"],
        ["مرحبا", "بالعالم", "بيانات", "الخصوصية", "موافقة", "المستخدم", "رسالة"],
        ["שלום", "עולם", "נתונים", "פרטיות", "הסכמה", "משתמש", "הודעה"],
        ["สวัสดี", "ชาวโลก", "ข้อมูล", "ความเป็นส่วนตัว", "ความยินยอม", "ผู้ใช้"],
    ];

    private static readonly int[] s_scriptWeights = [35, 15, 10, 5, 12, 6, 7, 5, 5];
    private static readonly string[] s_emoji = ["😀", "🚀", "🎉", "👍🏽", "❤️", "🔥", "🧠", "👩‍💻", "🇩🇪", "🙏", "✨", "😂"];
    private static readonly string[] s_languages = ["en", "fr", "ru", "el", "zh", "hi", "ar", "he", "th"];

    internal enum Kind
    {
        Ascii,
        Realistic,
    }

    internal static Kind ParseKind(string? text) => text?.ToUpperInvariant() switch
    {
        null or "REALISTIC" => Kind.Realistic,
        "ASCII" => Kind.Ascii,
        _ => throw new ArgumentException($"--corpus: '{text}' is not ascii or realistic"),
    };

    internal sealed record Corpus(
        Kind Kind, string Records, string RecordsCsv, string Consent, string Jurisdictions, long Bytes, long CsvBytes, int RecordCount);

    /// <summary>One generated record, written both as a JSON line and as a CSV row.</summary>
    private sealed class Record
    {
        public string Id = "";
        public bool IdIsNumber;
        public string User = "";
        public bool UserAsNumber;
        public bool EscapeUser;
        public string? Region;
        public string CreatedAt = "";
        public string? Meta;
        public string? ReplyTo;
        public string Text = "";
        public readonly List<(string Id, bool AsNumber)> Recipients = [];
        public bool RecipientsScalar;
        public bool RecipientsAsJsonCell;
        public bool UserLast;
    }

    internal static Corpus Generate(string directory, int records, int users, int seed, Kind kind = Kind.Realistic)
    {
        Directory.CreateDirectory(directory);
        var tag = kind == Kind.Ascii ? "ascii" : "realistic";
        var recordsPath = Path.Combine(directory, $"records-{tag}-v2-{records}-{users}-{seed}.jsonl");
        var csvPath = Path.ChangeExtension(recordsPath, ".csv");
        var consentPath = Path.Combine(directory, $"consent-{tag}-{users}-{seed}.csv");
        var tablePath = Path.Combine(directory, "jurisdictions.csv");

        if (!File.Exists(consentPath))
        {
            WriteConsent(consentPath, users, seed, kind);
        }

        File.WriteAllText(tablePath,
            "code,regime,note\nDE,opt-in,\nFR,opt-in,\nGB,opt-in,\nBR,opt-in,\nJP,opt-in,\nIN,opt-in,\nCA,opt-in,\nES,opt-in,\nIT,opt-in,\nNL,opt-in,\nPL,opt-in,\n" +
            "US,opt-out,\nUS-CA,opt-out,\nCN,excluded,\n*,excluded,\n");

        if (!File.Exists(recordsPath) || !File.Exists(csvPath))
        {
            WriteRecords(recordsPath, csvPath, records, users, seed, kind);
        }

        return new Corpus(kind, recordsPath, csvPath, consentPath, tablePath, new FileInfo(recordsPath).Length, new FileInfo(csvPath).Length, records);
    }

    /// <summary>
    /// The user id of user number <paramref name="u"/>: in the realistic corpus a third are decimal integers (written
    /// in records as JSON integers or strings, which the SPEC makes the same user) and some hold non-ASCII letters.
    /// </summary>
    private static string UserKey(int u, Kind kind) => kind == Kind.Ascii
        ? "u" + u.ToString(CultureInfo.InvariantCulture)
        : (u % 3) switch
        {
            0 => (7_000_000_000L + u).ToString(CultureInfo.InvariantCulture),
            1 when u % 7 == 1 => "usér-" + u.ToString(CultureInfo.InvariantCulture),
            _ => "u" + u.ToString(CultureInfo.InvariantCulture),
        };

    private static bool IsNumeric(string key) => key.Length > 0 && key.All(char.IsAsciiDigit);

    private static void WriteConsent(string path, int users, int seed, Kind kind)
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
            writer.Write(string.Create(CultureInfo.InvariantCulture, $"{UserKey(u, kind)},{region},{consent},{gpc},{minor},2026-11-01T00:00:00Z\n"));
        }
    }

    private static void WriteRecords(string jsonPath, string csvPath, int records, int users, int seed, Kind kind)
    {
        var random = new Random(seed + 1);
        using var json = new StreamWriter(jsonPath, false, new UTF8Encoding(false), 1 << 20);
        using var csv = new StreamWriter(csvPath, false, new UTF8Encoding(false), 1 << 20);
        csv.Write("id,user_id,region,created_at,recipients,text,meta,reply_to\n");
        var text = new StringBuilder();
        var record = new Record();
        for (var r = 0; r < records; r++)
        {
            if (kind == Kind.Ascii)
            {
                NextAscii(random, record, text, r, users);
            }
            else
            {
                NextRealistic(random, record, text, r, users);
            }

            WriteJson(json, record, random, kind);
            WriteCsv(csv, record);
        }
    }

    /// <summary>The original ASCII record, drawing from the random sequence in the original order.</summary>
    private static void NextAscii(Random random, Record record, StringBuilder text, int r, int users)
    {
        // 2 % of authors are not in the snapshot.
        var user = random.Next(50) == 0 ? users + random.Next(users) : random.Next(users);
        text.Clear();
        var targetLength = 270 + random.Next(360);
        while (text.Length < targetLength)
        {
            text.Append(s_words[random.Next(s_words.Length)]).Append(' ');
        }

        record.Id = "r" + r.ToString(CultureInfo.InvariantCulture);
        record.IdIsNumber = false;
        record.User = UserKey(user, Kind.Ascii);
        record.UserAsNumber = false;
        record.EscapeUser = false;
        record.UserLast = false;
        record.Region = random.Next(3) == 0 ? s_regions[random.Next(s_regions.Length)] : null;
        record.CreatedAt = "2026-10-" + (1 + random.Next(28)).ToString("00", CultureInfo.InvariantCulture) + "T12:00:00Z";
        record.Meta = "{\"lang\":\"en\",\"source\":\"feed\",\"likes\":" + random.Next(1000).ToString(CultureInfo.InvariantCulture) + "}";
        record.ReplyTo = null;
        record.Text = text.ToString().TrimEnd();
        record.Recipients.Clear();
        record.RecipientsScalar = false;
        if (random.Next(5) == 0)
        {
            var count = 1 + random.Next(3);
            for (var i = 0; i < count; i++)
            {
                record.Recipients.Add((UserKey(random.Next(users), Kind.Ascii), false));
            }
        }

        // Not drawn from the random sequence, so the JSON lines stay those of the original generator.
        record.RecipientsAsJsonCell = record.Recipients.Count > 0 && r % 2 == 0;
    }

    private static void NextRealistic(Random random, Record record, StringBuilder text, int r, int users)
    {
        var user = random.Next(50) == 0 ? users + random.Next(users) : random.Next(users);
        record.User = UserKey(user, Kind.Realistic);
        var numeric = IsNumeric(record.User);
        record.UserAsNumber = numeric && random.Next(5) < 3;
        record.EscapeUser = !numeric && record.User.Contains('é', StringComparison.Ordinal) && random.Next(3) == 0;
        record.UserLast = random.Next(5) == 0;
        record.IdIsNumber = random.Next(2) == 0;
        record.Id = record.IdIsNumber
            ? (1_000_000_000L + r).ToString(CultureInfo.InvariantCulture)
            : "p-" + r.ToString("x", CultureInfo.InvariantCulture);

        // 60 % with a region of their own, a few in lower case or padded (the tool trims and upper-cases).
        record.Region = null;
        if (random.Next(5) < 3)
        {
            var region = s_regions[random.Next(s_regions.Length)];
            record.Region = random.Next(10) switch
            {
                0 => region.ToLowerInvariant(),
                1 => " " + region + " ",
                _ => region,
            };
        }

        record.CreatedAt = string.Create(CultureInfo.InvariantCulture,
            $"2026-{1 + random.Next(11):00}-{1 + random.Next(28):00}T{random.Next(24):00}:{random.Next(60):00}:{random.Next(60):00}Z");

        var script = PickScript(random);
        record.Meta = random.Next(4) == 0 ? null : string.Create(CultureInfo.InvariantCulture,
            $"{{\"lang\":\"{s_languages[script]}\",\"source\":\"{(random.Next(3) == 0 ? "api" : "feed")}\",\"stats\":{{\"likes\":{random.Next(5000)},\"shares\":{random.Next(100)},\"ratio\":{random.NextDouble():F3}}},\"tags\":[\"t{random.Next(50)}\",\"t{random.Next(50)}\"]}}");
        record.ReplyTo = random.Next(10) == 0
            ? "{\"id\":" + (1_000_000_000L + random.Next(Math.Max(r, 1))).ToString(CultureInfo.InvariantCulture) +
              ",\"author\":{\"user_id\":\"" + UserKey(random.Next(users), Kind.Realistic) + "\",\"verified\":" + (random.Next(2) == 0 ? "true" : "false") + "}}"
            : null;

        record.Text = MakeText(random, text, script);

        // 20 % with co-subjects: arrays of 1–3 ids (integers or strings), or a single id as a scalar.
        record.Recipients.Clear();
        record.RecipientsScalar = false;
        if (random.Next(5) == 0)
        {
            record.RecipientsScalar = random.Next(10) < 3;
            var count = record.RecipientsScalar ? 1 : 1 + random.Next(3);
            for (var i = 0; i < count; i++)
            {
                var key = UserKey(random.Next(users), Kind.Realistic);
                record.Recipients.Add((key, IsNumeric(key) && random.Next(2) == 0));
            }
        }

        record.RecipientsAsJsonCell = !record.RecipientsScalar && record.Recipients.Count > 0 && random.Next(2) == 0;
    }

    private static int PickScript(Random random)
    {
        var pick = random.Next(s_scriptWeights.Sum());
        for (var i = 0; i < s_scriptWeights.Length; i++)
        {
            pick -= s_scriptWeights[i];
            if (pick < 0)
            {
                return i;
            }
        }

        return 0;
    }

    /// <summary>
    /// Post text with a log-normal UTF-8 length (median ~300 bytes, so lines near 500 B) and 1 % long posts up to
    /// ~20 KB; mostly one script with English words, emoji, line breaks, quotes, backslashes and tabs mixed in.
    /// </summary>
    private static string MakeText(Random random, StringBuilder text, int script)
    {
        int target;
        if (random.Next(100) == 0)
        {
            target = 5_000 + random.Next(14_500);
        }
        else
        {
            var gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            target = (int)Math.Clamp(300 * Math.Exp(0.8 * gaussian), 2, 19_000);
        }

        text.Clear();
        var bytes = 0;
        var words = s_scripts[script];
        while (bytes < target)
        {
            var roll = random.Next(100);
            string piece = roll switch
            {
                < 6 => s_emoji[random.Next(s_emoji.Length)],
                < 8 => "\n",
                < 9 => "\"" + words[random.Next(words.Length)] + "\"",
                < 10 => random.Next(2) == 0 ? "C:\\data\\" + words[random.Next(words.Length)] : "a\tb",
                < 25 => s_words[random.Next(s_words.Length)],
                < 27 => ",",
                _ => words[random.Next(words.Length)],
            };
            text.Append(piece).Append(' ');
            bytes += Encoding.UTF8.GetByteCount(piece) + 1;
        }

        return text.ToString().TrimEnd();
    }

    private static void WriteJson(StreamWriter writer, Record record, Random random, Kind kind)
    {
        writer.Write("{\"id\":");
        if (record.IdIsNumber)
        {
            writer.Write(record.Id);
        }
        else
        {
            writer.Write('"');
            writer.Write(record.Id);
            writer.Write('"');
        }

        if (!record.UserLast)
        {
            WriteUser(writer, record);
        }

        if (record.Region is not null)
        {
            writer.Write(",\"region\":\"");
            writer.Write(record.Region);
            writer.Write('"');
        }

        writer.Write(",\"created_at\":\"");
        writer.Write(record.CreatedAt);
        writer.Write('"');
        if (record.Meta is not null)
        {
            writer.Write(",\"meta\":");
            writer.Write(record.Meta);
        }

        if (record.ReplyTo is not null)
        {
            writer.Write(",\"reply_to\":");
            writer.Write(record.ReplyTo);
        }

        writer.Write(",\"text\":\"");
        if (kind == Kind.Ascii)
        {
            writer.Write(record.Text);
        }
        else
        {
            WriteEscaped(writer, record.Text, random);
        }

        writer.Write('"');
        if (record.Recipients.Count > 0)
        {
            writer.Write(",\"recipients\":");
            if (!record.RecipientsScalar)
            {
                writer.Write('[');
            }

            for (var i = 0; i < record.Recipients.Count; i++)
            {
                if (i > 0)
                {
                    writer.Write(',');
                }

                WriteId(writer, record.Recipients[i].Id, record.Recipients[i].AsNumber);
            }

            if (!record.RecipientsScalar)
            {
                writer.Write(']');
            }
        }

        if (record.UserLast)
        {
            WriteUser(writer, record);
        }

        writer.Write("}\n");
    }

    private static void WriteUser(StreamWriter writer, Record record)
    {
        writer.Write(",\"user_id\":");
        if (record.EscapeUser)
        {
            // The same id, with its non-ASCII letter as a \uXXXX escape: the decoded value is what is compared.
            writer.Write('"');
            writer.Write(record.User.Replace("é", "\\u00e9", StringComparison.Ordinal));
            writer.Write('"');
        }
        else
        {
            WriteId(writer, record.User, record.UserAsNumber);
        }
    }

    private static void WriteId(StreamWriter writer, string id, bool asNumber)
    {
        if (asNumber)
        {
            writer.Write(id);
            return;
        }

        writer.Write('"');
        writer.Write(id);
        writer.Write('"');
    }

    /// <summary>JSON string escaping; about 3 % of non-ASCII characters are written as <c>\uXXXX</c> (surrogate pairs as two).</summary>
    private static void WriteEscaped(StreamWriter writer, string text, Random random)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '"':
                    writer.Write("\\\"");
                    break;
                case '\\':
                    writer.Write("\\\\");
                    break;
                case '\n':
                    writer.Write("\\n");
                    break;
                case '\t':
                    writer.Write(random.Next(2) == 0 ? "\\t" : "\\u0009");
                    break;
                case < ' ':
                    writer.Write(string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"));
                    break;
                case > '\u007f' when !char.IsSurrogate(c) && random.Next(32) == 0:
                    writer.Write(string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"));
                    break;
                case > '\u007f' when char.IsHighSurrogate(c) && i + 1 < text.Length && random.Next(8) == 0:
                    writer.Write(string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}\\u{(int)text[++i]:x4}"));
                    break;
                case > '\u007f' when char.IsHighSurrogate(c) && i + 1 < text.Length:
                    writer.Write(c);
                    writer.Write(text[++i]);
                    break;
                default:
                    writer.Write(c);
                    break;
            }
        }
    }

    private static void WriteCsv(StreamWriter writer, Record record)
    {
        writer.Write(record.Id);
        writer.Write(',');
        writer.Write(record.User);
        writer.Write(',');
        if (record.Region is not null)
        {
            writer.Write(record.Region);
        }

        writer.Write(',');
        writer.Write(record.CreatedAt);
        writer.Write(',');
        if (record.Recipients.Count > 0)
        {
            if (record.RecipientsAsJsonCell)
            {
                var cell = new StringBuilder("[");
                for (var i = 0; i < record.Recipients.Count; i++)
                {
                    var (id, asNumber) = record.Recipients[i];
                    cell.Append(i > 0 ? "," : "").Append(asNumber ? id : "\"" + id + "\"");
                }

                WriteQuoted(writer, cell.Append(']').ToString());
            }
            else
            {
                writer.Write(string.Join(';', record.Recipients.Select(s => s.Id)));
            }
        }

        writer.Write(',');
        WriteQuoted(writer, record.Text);
        writer.Write(',');
        if (record.Meta is not null)
        {
            WriteQuoted(writer, record.Meta);
        }

        writer.Write(',');
        if (record.ReplyTo is not null)
        {
            WriteQuoted(writer, record.ReplyTo);
        }

        writer.Write('\n');
    }

    private static void WriteQuoted(StreamWriter writer, string value)
    {
        writer.Write('"');
        writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        writer.Write('"');
    }
}
