using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>
/// A small corpus whose every expected count was worked out by hand from SPEC 2 and 3; the comment on each record
/// says why it ends where it does. Run with <c>--subject-field recipients</c>.
/// </summary>
public static class HandMadeCorpus
{
    public const string ConsentFile = "consent.csv";
    public const string JurisdictionsFile = "jurisdictions.csv";
    public const string RecordsFile = "records.jsonl";

    // 11 users in 14 rows. heidi and ivan: only the latest dated row counts (no conflict).
    // judy: a dated row and an undated row that differ → both count, home regions US and FR (1 conflict).
    public const string Consent =
        "user_id,region,ai_training,gpc,minor,updated_at\n" +
        "alice,US-CA,granted,false,false,2026-01-01T00:00:00Z\n" +
        "bob,US-CA,,true,false,2026-01-01T00:00:00Z\n" +
        "carol,DE,granted,false,false,\n" +
        "dave,DE,unset,false,false,\n" +
        "erin,US,denied,false,false,\n" +
        "frank,US,granted,false,true,\n" +
        "grace,CN,granted,false,false,\n" +
        "42,US,granted,false,false,\n" +
        "heidi,US,granted,false,false,2026-01-01T00:00:00Z\n" +
        "heidi,US,denied,false,false,2026-02-01T00:00:00Z\n" +
        "ivan,US,denied,false,false,2026-01-01T00:00:00Z\n" +
        "ivan,US,granted,false,false,2026-02-01T00:00:00Z\n" +
        "judy,US,granted,false,false,2026-02-01T00:00:00Z\n" +
        "judy,FR,granted,false,false,\n";

    public const string Jurisdictions =
        "code,regime,note\n" +
        "US,opt-out,federal\n" +
        "US-CA,opt-out,CCPA\n" +
        "DE,opt-in,GDPR\n" +
        "FR,opt-in,GDPR\n" +
        "CN,excluded,PIPL\n" +
        "*,excluded,fail closed\n";

    public static readonly string[] RecordLines =
    [
        /*  1 kept: US-CA opt-out, granted */ "{\"id\":\"r1\",\"user_id\":\"alice\",\"text\":\"hi\"}",
        /*  2 gpc_opt_out: US-CA opt-out, unset + GPC */ "{\"id\":\"r2\",\"user_id\":\"bob\"}",
        /*  3 kept: DE opt-in, granted; region trimmed/upper-cased */ "{\"id\":\"r3\",\"user_id\":\"carol\",\"region\":\"de\"}",
        /*  4 no_opt_in: DE opt-in, unset */ "{\"id\":\"r4\",\"user_id\":\"dave\"}",
        /*  5 opted_out */ "{\"id\":\"r5\",\"user_id\":\"erin\"}",
        /*  6 minor */ "{\"id\":\"r6\",\"user_id\":\"frank\"}",
        /*  7 region_excluded: CN */ "{\"id\":\"r7\",\"user_id\":\"grace\"}",
        /*  8 kept: integer id 42 ≡ "42"; US-TX falls back to US */ "{\"id\":\"r8\",\"user_id\":42,\"region\":\"US-TX\"}",
        /*  9 unknown_user */ "{\"id\":\"r9\",\"user_id\":\"mallory\"}",
        /* 10 opted_out: the latest row denies */ "{\"id\":\"r10\",\"user_id\":\"heidi\"}",
        /* 11 kept: the latest row grants */ "{\"id\":\"r11\",\"user_id\":\"ivan\"}",
        /* 12 kept: home US and FR, FR opt-in is stricter, granted */ "{\"id\":\"r12\",\"user_id\":\"judy\"}",
        /* 13 no_opt_in: co-subject 2 (dave) */ "{\"id\":\"r13\",\"user_id\":\"alice\",\"recipients\":[\"carol\",\"dave\"]}",
        /* 14 region_excluded: AU is unlisted → '*' */ "{\"id\":\"r14\",\"user_id\":\"alice\",\"region\":\"AU\"}",
        /* 15 blank: not a record */ "   ",
        /* 16 invalid_json */ "{\"id\":\"r16\",\"user_id\":\"alice\"",
        /* 17 not_object */ "[\"alice\"]",
        /* 18 missing_user_id */ "{\"id\":\"r18\"}",
        /* 19 bad_user_id_type */ "{\"id\":\"r19\",\"user_id\":true}",
        /* 20 kept: CRLF ending */ "{\"id\":\"r20\",\"user_id\":\"carol\"}",
        /* 21 kept: last line without LF; co-subject ivan allowed */ "{\"id\":\"r21\",\"user_id\":\"alice\",\"recipients\":[\"ivan\"]}",
    ];

    /// <summary>The 1-based line numbers of the kept records, in order.</summary>
    public static readonly int[] KeptLineNumbers = [1, 3, 8, 11, 12, 20, 21];

    public const int Records = 20;
    public const int Kept = 7;
    public const int Dropped = 9;
    public const int Quarantined = 4;

    public static readonly (string Reason, int Count)[] DroppedByReason =
    [
        ("unknown_user", 1), ("minor", 1), ("region_excluded", 2), ("opted_out", 2), ("no_opt_in", 2), ("gpc_opt_out", 1),
    ];

    public static readonly (string Error, int Count)[] QuarantinedByError =
    [
        ("invalid_json", 1), ("not_object", 1), ("missing_user_id", 1), ("bad_user_id_type", 1),
    ];

    /// <summary>Kept under the author's deciding code; dropped under the failing subject's.</summary>
    public static readonly (string Code, int Kept, int Dropped)[] ByRegion =
    [
        ("*", 0, 2), ("CN", 0, 1), ("DE", 2, 2), ("FR", 1, 0), ("US", 2, 3), ("US-CA", 2, 1),
    ];

    /// <summary>The records file's bytes: LF endings, CRLF on line 20, no LF after line 21.</summary>
    public static string RecordsText() =>
        string.Concat(RecordLines.Select((line, i) => line + (i + 1 == 20 ? "\r\n" : i + 1 == RecordLines.Length ? string.Empty : "\n")));

    /// <summary>What <c>--out</c> must hold: the kept lines byte for byte, each ending in LF.</summary>
    public static string ExpectedKept() => string.Concat(KeptLineNumbers.Select(n => RecordLines[n - 1] + "\n"));

    /// <summary>Writes the three input files into <paramref name="directory"/>.</summary>
    public static void WriteTo(TempDirectory directory)
    {
        directory.Write(ConsentFile, Consent);
        directory.Write(JurisdictionsFile, Jurisdictions);
        directory.Write(RecordsFile, RecordsText());
    }

    /// <summary>Arguments of a filter run over the corpus, relative to its directory, plus <paramref name="extra"/>.</summary>
    public static string[] FilterArgs(params string[] extra) =>
        ["filter", "--records", RecordsFile, "--consent", ConsentFile, "--jurisdictions", JurisdictionsFile, "--subject-field", "recipients", .. extra];
}
