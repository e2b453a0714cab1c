using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Tests;

/// <summary>Small in-memory consent files and tables shared by the unit tests.</summary>
internal static class TestData
{
    internal const string ConsentName = "consent.csv";
    internal const string TableName = "table.csv";
    internal const string Purpose = "ai_training";

    /// <summary>A table with one code per regime, a subdivision and an excluded default.</summary>
    internal const string Table = """
        code,regime,note
        US,opt-out,United States
        US-CA,opt-out,California
        DE,opt-in,Germany
        CN,excluded,China
        *,excluded,default
        """;

    internal static ConsentSnapshot Snapshot(string csv, params string[] purposes) =>
        ConsentSnapshot.LoadCsv(new MemoryStream(Encoding.UTF8.GetBytes(csv)), ConsentName, purposes.Length == 0 ? [Purpose] : purposes);

    internal static JurisdictionTable Jurisdictions(string csv) => JurisdictionTable.Load(Encoding.UTF8.GetBytes(csv), TableName);

    internal static ConsentPolicy Policy(string consentCsv, string tableCsv = Table, UnknownUserPolicy unknownUsers = UnknownUserPolicy.Drop) =>
        new(Snapshot(consentCsv), Jurisdictions(tableCsv), Purpose, unknownUsers);

    internal static UserConsent User(ConsentSnapshot snapshot, string userId)
    {
        Assert.True(snapshot.TryGetUser(Encoding.UTF8.GetBytes(userId), out var consent), $"user '{userId}' not in the snapshot");
        return consent;
    }
}
