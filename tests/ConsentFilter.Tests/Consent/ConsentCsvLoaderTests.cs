using System.Security.Cryptography;
using System.Text;
using ConsentFilter.Consent;

namespace ConsentFilter.Tests.Consent;

public class ConsentCsvLoaderTests
{
    private static ConsentSnapshot Load(string csv, params string[] purposes) => TestData.Snapshot(csv, purposes);

    private static DataFileException LoadFails(string csv, params string[] purposes) =>
        Assert.Throws<DataFileException>(() => Load(csv, purposes));

    private static DataFileException LoadFails(byte[] csv) =>
        Assert.Throws<DataFileException>(() => ConsentSnapshot.LoadCsv(new MemoryStream(csv), TestData.ConsentName, [TestData.Purpose]));

    private static ConsentState StateOf(string cell) =>
        TestData.User(Load("user_id,ai_training\nu1," + cell + "\n"), "u1").States[0];

    private static void AssertLocation(DataFileException e, long line, int column)
    {
        Assert.Equal(TestData.ConsentName, e.File);
        Assert.Equal(line, e.Line);
        Assert.Equal(column, e.Column);
        var prefix = column > 0 ? $"{TestData.ConsentName}:{line}:{column}: " : $"{TestData.ConsentName}:{line}: ";
        Assert.StartsWith(prefix, e.Message, StringComparison.Ordinal);
    }

    // Purpose values

    [Theory]
    [InlineData("granted")]
    [InlineData("GRANTED")]
    [InlineData("Granted")]
    [InlineData(" granted ")]
    [InlineData("opted_in")]
    [InlineData("OPTED_IN")]
    [InlineData("opt_in")]
    [InlineData("Opt_In")]
    [InlineData("yes")]
    [InlineData("YES")]
    [InlineData("true")]
    [InlineData("TRUE")]
    [InlineData("1")]
    [InlineData("\t1 ")]
    [InlineData("\" yes \"")]
    public void LoadCsv_GrantedSpelling_Granted(string cell) => Assert.Equal(ConsentState.Granted, StateOf(cell));

    [Theory]
    [InlineData("denied")]
    [InlineData("DENIED")]
    [InlineData(" Denied")]
    [InlineData("opted_out")]
    [InlineData("OPTED_OUT")]
    [InlineData("opt_out")]
    [InlineData("Opt_Out ")]
    [InlineData("no")]
    [InlineData("NO")]
    [InlineData("false")]
    [InlineData("False")]
    [InlineData("0")]
    [InlineData(" 0 ")]
    public void LoadCsv_DeniedSpelling_Denied(string cell) => Assert.Equal(ConsentState.Denied, StateOf(cell));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\"\"")]
    [InlineData("unset")]
    [InlineData("UNSET")]
    [InlineData(" Unset ")]
    [InlineData("none")]
    [InlineData("NONE")]
    [InlineData("null")]
    [InlineData("Null")]
    public void LoadCsv_UnsetSpelling_Unset(string cell) => Assert.Equal(ConsentState.Unset, StateOf(cell));

    [Theory]
    [InlineData("maybe")]
    [InlineData("opt-in")]
    [InlineData("opt-out")]
    [InlineData("optin")]
    [InlineData("y")]
    [InlineData("n")]
    [InlineData("2")]
    [InlineData("-1")]
    [InlineData("granted!")]
    [InlineData("grant ed")]
    [InlineData("a very long value that is not a state")]
    public void LoadCsv_InvalidPurposeValue_ErrorNamesFileLineColumn(string cell)
    {
        var e = LoadFails("region,user_id,ai_training\nDE,u1,granted\nDE,u2," + cell + "\n");

        AssertLocation(e, 3, 3);
        Assert.Contains(cell, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCsv_InvalidValueInUnusedPurpose_Ignored()
    {
        var csv = "user_id,ai_training,marketing\nu1,granted,bogus\n";

        Assert.Equal(ConsentState.Granted, TestData.User(Load(csv), "u1").States[0]);
        AssertLocation(LoadFails(csv, "ai_training", "marketing"), 2, 3);
    }

    [Fact]
    public void LoadCsv_SeveralPurposes_EachInRequestedOrder()
    {
        var snapshot = Load("user_id,marketing,ai_training\nu1,denied,granted\n", "ai_training", "marketing");

        var user = TestData.User(snapshot, "u1");
        Assert.Equal(["ai_training", "marketing"], snapshot.Purposes);
        Assert.Equal(ConsentState.Granted, user.States[0]);
        Assert.Equal(ConsentState.Denied, user.States[1]);
    }

    // Booleans

    [Theory]
    [InlineData("true", true)]
    [InlineData("TRUE", true)]
    [InlineData(" True ", true)]
    [InlineData("1", true)]
    [InlineData("yes", true)]
    [InlineData("Yes", true)]
    [InlineData("false", false)]
    [InlineData("FALSE", false)]
    [InlineData("0", false)]
    [InlineData("no", false)]
    [InlineData(" No", false)]
    [InlineData("", false)]
    [InlineData("  ", false)]
    public void LoadCsv_BooleanSpelling_ParsedForGpcAndMinor(string cell, bool expected)
    {
        var gpc = TestData.User(Load("user_id,ai_training,gpc\nu1,granted," + cell + "\n"), "u1");
        var minor = TestData.User(Load("user_id,ai_training,minor\nu1,granted," + cell + "\n"), "u1");

        Assert.Equal(expected, gpc.Gpc);
        Assert.False(gpc.Minor);
        Assert.Equal(expected, minor.Minor);
        Assert.False(minor.Gpc);
    }

    [Fact]
    public void LoadCsv_NoGpcOrMinorColumn_False()
    {
        var user = TestData.User(Load("user_id,ai_training\nu1,granted\n"), "u1");

        Assert.False(user.Gpc);
        Assert.False(user.Minor);
    }

    [Theory]
    [InlineData("gpc", "y")]
    [InlineData("gpc", "on")]
    [InlineData("gpc", "2")]
    [InlineData("gpc", "granted")]
    [InlineData("minor", "t")]
    [InlineData("minor", "unknown")]
    [InlineData("minor", "null")]
    public void LoadCsv_InvalidBoolean_ErrorNamesFileLineColumn(string column, string cell)
    {
        var e = LoadFails($"user_id,ai_training,{column}\nu1,granted,\nu2,granted,{cell}\n");

        AssertLocation(e, 3, 3);
        Assert.Contains(column, e.Message, StringComparison.Ordinal);
    }

    // Timestamps

    [Theory]
    [InlineData("2024-05-01T12:00:00Z", "2024-05-01T12:00:00+00:00")]
    [InlineData("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00+00:00")]
    [InlineData("2024-05-01T05:00:00-07:00", "2024-05-01T12:00:00+00:00")]
    [InlineData("2024-05-01T12:00:00", "2024-05-01T12:00:00+00:00")]
    [InlineData("2024-05-01 12:00:00", "2024-05-01T12:00:00+00:00")]
    [InlineData("2024-05-01T12:00Z", "2024-05-01T12:00:00+00:00")]
    [InlineData("2024-05-01", "2024-05-01T00:00:00+00:00")]
    [InlineData("2024-05-01T12:00:00.5Z", "2024-05-01T12:00:00.5+00:00")]
    [InlineData("2024-05-01T12:00:00.1234567Z", "2024-05-01T12:00:00.1234567+00:00")]
    [InlineData("2024-05-01T12:00:00.250+01:00", "2024-05-01T11:00:00.25+00:00")]
    [InlineData("2024-05-01T12:00:00.123456789Z", "2024-05-01T12:00:00.1234567+00:00")]
    [InlineData("2024-05-01T14:00:00.12345678+02:00", "2024-05-01T12:00:00.1234567+00:00")]
    [InlineData("\"2024-05-01T12:00:00,5Z\"", "2024-05-01T12:00:00.5+00:00")]
    [InlineData(" 2024-05-01T12:00:00Z ", "2024-05-01T12:00:00+00:00")]
    public void LoadCsv_Iso8601UpdatedAt_ParsedAsUtcInstant(string cell, string expected)
    {
        var snapshot = Load("user_id,ai_training,updated_at\nu1,granted," + cell + "\n");

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), snapshot.Info.AsOf);
        Assert.Equal(TimeSpan.Zero, snapshot.Info.AsOf!.Value.Offset);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2024-13-01")]
    [InlineData("2024-02-30")]
    [InlineData("2024-05-01T25:00:00Z")]
    [InlineData("01/05/2024")]
    [InlineData("2024/05/01")]
    [InlineData("1714564800")]
    [InlineData("2024-05-01T12:00:00+25:00")]
    [InlineData("2024-05-01T12:00:00.123456789x")]
    [InlineData("2024-05-01T12:00:00.1234567890123456789012345678901234567890123456789012345678901234567890Z")]
    public void LoadCsv_InvalidUpdatedAt_ErrorNamesFileLineColumn(string cell)
    {
        var e = LoadFails("user_id,updated_at,ai_training\nu1,2024-01-01,granted\nu2," + cell + ",granted\n");

        AssertLocation(e, 3, 2);
        Assert.Contains("updated_at", e.Message, StringComparison.Ordinal);
    }

    // Header and structure errors

    [Theory]
    [InlineData(" User_ID , AI_Training ,GPC")]
    [InlineData("USER_ID,ai_training,gpc")]
    [InlineData("ai_training,user_id,gpc")]
    public void LoadCsv_HeaderNamesTrimmedCaseInsensitive_Loaded(string header)
    {
        var first = header.Split(',')[0].Trim().ToUpperInvariant();
        var row = first == "AI_TRAINING" ? "denied,u1,yes" : "u1,denied,yes";
        var user = TestData.User(Load(header + "\n" + row + "\n"), "u1");

        Assert.Equal(ConsentState.Denied, user.States[0]);
        Assert.True(user.Gpc);
    }

    [Fact]
    public void LoadCsv_MissingUserIdColumn_ErrorNamesFileAndLine()
    {
        var e = LoadFails("id,ai_training\nu1,granted\n");

        AssertLocation(e, 1, 0);
        Assert.Contains("user_id", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCsv_MissingPurposeColumn_ErrorNamesFileAndLine()
    {
        var e = LoadFails("user_id,marketing\nu1,granted\n");

        AssertLocation(e, 1, 0);
        Assert.Contains("ai_training", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("user_id,ai_training,ai_training", 3)]
    [InlineData("user_id,ai_training, AI_Training ", 3)]
    [InlineData("user_id,gpc,ai_training,GPC", 4)]
    [InlineData("User_Id,ai_training,user_id", 3)]
    [InlineData("user_id,ai_training,other, other", 4)]
    public void LoadCsv_DuplicateColumnAfterTrimAndCaseFold_ErrorNamesFileLineColumn(string header, int column)
    {
        var e = LoadFails(header + "\n");

        AssertLocation(e, 1, column);
        Assert.Contains("duplicate", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("u2,granted,extra")]
    [InlineData("u2")]
    [InlineData("u2,granted,")]
    public void LoadCsv_WrongFieldCount_ErrorNamesFileAndLine(string row)
    {
        var e = LoadFails("user_id,ai_training\nu1,granted\n" + row + "\n");

        AssertLocation(e, 3, 0);
    }

    [Theory]
    [InlineData(",granted")]
    [InlineData("\"\",granted")]
    public void LoadCsv_EmptyUserId_ErrorNamesFileLineColumn(string row)
    {
        var e = LoadFails("region,user_id,ai_training\nDE,u1,granted\nDE," + row + "\n");

        AssertLocation(e, 3, 2);
        Assert.Contains("user_id", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCsv_EmptyFile_Error() => Assert.Equal(TestData.ConsentName, LoadFails(string.Empty).File);

    [Fact]
    public void LoadCsv_InvalidUtf8_ErrorNamesFileAndLine()
    {
        byte[] csv = [.. "user_id,ai_training\nu1,granted\nu"u8, 0xFF, .. "2,granted\n"u8];

        var e = LoadFails(csv);

        Assert.Equal(TestData.ConsentName, e.File);
        Assert.Equal(3, e.Line);
        Assert.StartsWith($"{TestData.ConsentName}:3", e.Message, StringComparison.Ordinal);
        Assert.Contains("UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCsv_InvalidUtf8InHeader_ErrorNamesFileAndLine()
    {
        byte[] csv = [.. "user_id,ai_training,no"u8, 0xC3, 0x28, .. "te\nu1,granted,x\n"u8];

        var e = LoadFails(csv);

        Assert.Equal(1, e.Line);
        Assert.Contains("UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xE2, 0x82 })]
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })]
    public void LoadCsv_InvalidUtf8DeepInLargeFile_ErrorNamesItsLine(byte[] bad)
    {
        var head = new StringBuilder("user_id,ai_training\n");
        for (var i = 2; i < 5000; i++)
        {
            head.Append(System.Globalization.CultureInfo.InvariantCulture, $"\u00fcser-{i},granted\n");
        }

        byte[] csv = [.. Encoding.UTF8.GetBytes(head.ToString()), .. "u"u8, .. bad, .. ",granted\nu2,granted\n"u8];

        var e = LoadFails(csv);

        Assert.Equal(5000, e.Line);
        Assert.StartsWith($"{TestData.ConsentName}:5000: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCsv_TruncatedSequenceAtEndOfFile_InvalidUtf8()
    {
        byte[] csv = [.. "user_id,ai_training\nu1,granted\nu2,granted\n"u8, 0xE2, 0x82];

        Assert.Equal(4, LoadFails(csv).Line);
    }

    [Fact]
    public void LoadCsv_MultiByteCharactersSplitAcrossReads_Loaded()
    {
        var bytes = Encoding.UTF8.GetBytes("user_id,ai_training\n\u00fc\u20ac\U0001F600,granted\n");
        using var stream = new TrickleStream(bytes);

        var snapshot = ConsentSnapshot.LoadCsv(stream, TestData.ConsentName, [TestData.Purpose]);

        Assert.Equal(ConsentState.Granted, TestData.User(snapshot, "\u00fc\u20ac\U0001F600").States[0]);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), snapshot.Info.Sha256);
    }

    [Fact]
    public void LoadCsv_InvalidUtf8ReadOneByteAtATime_ErrorNamesItsLine()
    {
        using var stream = new TrickleStream([.. "user_id,ai_training\nu1,granted\n\u00fc"u8.ToArray(), 0xE2, 0x28, .. ",granted\n"u8]);

        var e = Assert.Throws<DataFileException>(() => ConsentSnapshot.LoadCsv(stream, TestData.ConsentName, [TestData.Purpose]));

        Assert.Equal(3, e.Line);
    }

    [Fact]
    public void LoadCsv_Utf8Bom_Ignored()
    {
        byte[] csv = [0xEF, 0xBB, 0xBF, .. "user_id,ai_training\nu1,granted\n"u8];

        var snapshot = ConsentSnapshot.LoadCsv(new MemoryStream(csv), TestData.ConsentName, [TestData.Purpose]);

        Assert.Equal(ConsentState.Granted, TestData.User(snapshot, "u1").States[0]);
    }

    [Fact]
    public void LoadCsv_NoPurposes_ArgumentException() =>
        Assert.Throws<ArgumentException>(() => ConsentSnapshot.LoadCsv(new MemoryStream("user_id\n"u8.ToArray()), TestData.ConsentName, []));

    // User ids and regions

    [Fact]
    public void LoadCsv_UserIds_KeptVerbatimAndCaseSensitive()
    {
        var snapshot = Load("user_id,ai_training\n u1,granted\nU1,denied\n\"u1 \",unset\n\"a,b\",granted\n");

        Assert.False(snapshot.TryGetUser("u1"u8, out _));
        Assert.Equal(ConsentState.Granted, TestData.User(snapshot, " u1").States[0]);
        Assert.Equal(ConsentState.Denied, TestData.User(snapshot, "U1").States[0]);
        Assert.Equal(ConsentState.Unset, TestData.User(snapshot, "u1 ").States[0]);
        Assert.Equal(ConsentState.Granted, TestData.User(snapshot, "a,b").States[0]);
        Assert.Equal(4, snapshot.Info.Users);
    }

    [Fact]
    public void LoadCsv_NonAsciiUserId_LookedUpByUtf8Bytes()
    {
        var snapshot = Load("user_id,ai_training\n\u00fcser,granted\n");

        Assert.True(snapshot.TryGetUser("\u00fcser"u8, out _));
        Assert.False(snapshot.TryGetUser("user"u8, out _));
    }

    [Theory]
    [InlineData("DE", "DE")]
    [InlineData("de", "DE")]
    [InlineData(" us-ca ", "US-CA")]
    [InlineData("\tit\t", "IT")]
    public void LoadCsv_Region_TrimmedAndUpperCased(string cell, string expected) =>
        Assert.Equal([expected], TestData.User(Load("user_id,region,ai_training\nu1," + cell + ",granted\n"), "u1").HomeRegions);

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void LoadCsv_EmptyRegion_NoHomeRegion(string cell) =>
        Assert.Empty(TestData.User(Load("user_id,region,ai_training\nu1," + cell + ",granted\n"), "u1").HomeRegions);

    // Several rows for one user

    [Theory]
    [InlineData("granted", "denied")]
    [InlineData("denied", "granted")]
    [InlineData("unset", "granted")]
    [InlineData("denied", "unset")]
    public void LoadCsv_DatedRows_LatestWins(string older, string newer)
    {
        var forward = Load($"user_id,ai_training,updated_at\nu1,{older},2024-01-01T00:00:00Z\nu1,{newer},2024-02-01T00:00:00Z\n");
        var backward = Load($"user_id,ai_training,updated_at\nu1,{newer},2024-02-01T00:00:00Z\nu1,{older},2024-01-01T00:00:00Z\n");

        Assert.True(ConsentValues.TryParseState(newer, out var expected));
        Assert.Equal(expected, TestData.User(forward, "u1").States[0]);
        Assert.Equal(expected, TestData.User(backward, "u1").States[0]);
        Assert.Equal(0, forward.Info.Conflicts);
        Assert.Equal(0, backward.Info.Conflicts);
    }

    [Fact]
    public void LoadCsv_OlderRowFlags_DoNotCount()
    {
        var user = TestData.User(Load(
            "user_id,region,ai_training,gpc,minor,updated_at\n" +
            "u1,CN,denied,true,true,2024-01-01\n" +
            "u1,US,granted,false,false,2024-06-01\n"), "u1");

        Assert.Equal(ConsentState.Granted, user.States[0]);
        Assert.False(user.Gpc);
        Assert.False(user.Minor);
        Assert.Equal(["US"], user.HomeRegions);
    }

    [Theory]
    [InlineData("granted", "denied", ConsentState.Denied)]
    [InlineData("denied", "granted", ConsentState.Denied)]
    [InlineData("granted", "unset", ConsentState.Unset)]
    [InlineData("unset", "granted", ConsentState.Unset)]
    [InlineData("unset", "denied", ConsentState.Denied)]
    public void LoadCsv_TiedRows_MergeMostRestrictive(string first, string second, ConsentState expected)
    {
        var snapshot = Load($"user_id,ai_training,updated_at\nu1,{first},2024-02-01T00:00:00Z\nu1,{second},2024-02-01T00:00:00Z\n");

        Assert.Equal(expected, TestData.User(snapshot, "u1").States[0]);
        Assert.Equal(1, snapshot.Info.Conflicts);
    }

    [Fact]
    public void LoadCsv_SameInstantDifferentOffsets_IsATie()
    {
        var snapshot = Load("user_id,ai_training,updated_at\nu1,granted,2024-02-01T12:00:00Z\nu1,denied,2024-02-01T14:00:00+02:00\n");

        Assert.Equal(ConsentState.Denied, TestData.User(snapshot, "u1").States[0]);
        Assert.Equal(1, snapshot.Info.Conflicts);
    }

    [Theory]
    [InlineData("granted", "denied", ConsentState.Denied)]
    [InlineData("denied", "granted", ConsentState.Denied)]
    [InlineData("granted", "unset", ConsentState.Unset)]
    public void LoadCsv_UndatedRows_MergeMostRestrictive(string first, string second, ConsentState expected)
    {
        var snapshot = Load($"user_id,ai_training\nu1,{first}\nu1,{second}\n");

        Assert.Equal(expected, TestData.User(snapshot, "u1").States[0]);
        Assert.Equal(1, snapshot.Info.Conflicts);
    }

    [Theory]
    [InlineData("granted", "denied", ConsentState.Denied)]
    [InlineData("denied", "granted", ConsentState.Denied)]
    [InlineData("granted", "unset", ConsentState.Unset)]
    public void LoadCsv_UndatedRowBesideLatest_BothCountAndMerge(string latest, string undated, ConsentState expected)
    {
        var snapshot = Load(
            "user_id,ai_training,updated_at\n" +
            $"u1,{undated},\n" +
            "u1,granted,2023-01-01T00:00:00Z\n" +
            $"u1,{latest},2024-01-01T00:00:00Z\n");

        Assert.Equal(expected, TestData.User(snapshot, "u1").States[0]);
        Assert.Equal(1, snapshot.Info.Conflicts);
    }

    [Fact]
    public void LoadCsv_UndatedRowAgreesWithLatest_NoConflictAndOlderIgnored()
    {
        var snapshot = Load(
            "user_id,ai_training,updated_at\n" +
            "u1,granted,\n" +
            "u1,denied,2023-01-01T00:00:00Z\n" +
            "u1,granted,2024-01-01T00:00:00Z\n");

        Assert.Equal(ConsentState.Granted, TestData.User(snapshot, "u1").States[0]);
        Assert.Equal(0, snapshot.Info.Conflicts);
    }

    [Fact]
    public void LoadCsv_TiedRowsFlagsAndRegions_TrueWinsAndAllRegionsApply()
    {
        var snapshot = Load(
            "user_id,region,ai_training,gpc,minor,updated_at\n" +
            "u1,US,granted,true,false,2024-02-01\n" +
            "u1,de,granted,false,true,2024-02-01\n" +
            "u1,US,granted,false,false,\n" +
            "u1,CN,granted,false,false,2024-01-01\n");

        var user = TestData.User(snapshot, "u1");
        Assert.True(user.Gpc);
        Assert.True(user.Minor);
        Assert.Equal(["DE", "US"], user.HomeRegions.Order(StringComparer.Ordinal));
        Assert.Equal(1, snapshot.Info.Conflicts);
    }

    [Fact]
    public void LoadCsv_UndatedRowRegion_AppliesBesideLatest()
    {
        var user = TestData.User(Load(
            "user_id,region,ai_training,updated_at\n" +
            "u1,US,granted,2024-02-01\n" +
            "u1,DE,granted,\n"), "u1");

        Assert.Equal(["DE", "US"], user.HomeRegions.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LoadCsv_IdenticalDuplicateRows_NoConflict()
    {
        var snapshot = Load(
            "user_id,region,ai_training,gpc,updated_at\n" +
            "u1,DE,granted,no,2024-02-01\n" +
            "u1,de ,GRANTED,0,2024-02-01T00:00:00Z\n" +
            "u2,US,denied,,\n" +
            "u2,US,denied,false,\n");

        Assert.Equal(0, snapshot.Info.Conflicts);
        Assert.Equal(4, snapshot.Info.Rows);
        Assert.Equal(2, snapshot.Info.Users);
    }

    [Fact]
    public void LoadCsv_ConflictsCountedPerUser()
    {
        var snapshot = Load(
            "user_id,ai_training,gpc\n" +
            "u1,granted,\nu1,denied,\nu1,unset,\n" +
            "u2,granted,\nu2,granted,yes\n" +
            "u3,granted,\nu3,granted,\n" +
            "u4,denied,\n");

        Assert.Equal(2, snapshot.Info.Conflicts);
        Assert.Equal(8, snapshot.Info.Rows);
        Assert.Equal(4, snapshot.Info.Users);
    }

    // Snapshot facts

    [Fact]
    public void LoadCsv_Counts_RowsAndUsersWithBlankLinesSkipped()
    {
        var snapshot = Load("user_id,ai_training\n\nu1,granted\n\nu2,denied\nu1,granted\n\n");

        Assert.Equal(3, snapshot.Info.Rows);
        Assert.Equal(2, snapshot.Info.Users);
        Assert.Equal(TestData.ConsentName, snapshot.Info.Source);
    }

    [Fact]
    public void LoadCsv_AsOf_NewestUpdatedAtOfAnyRow()
    {
        var snapshot = Load(
            "user_id,ai_training,updated_at\n" +
            "u1,granted,2024-03-01T00:00:00Z\n" +
            "u2,granted,2024-05-01T10:00:00+02:00\n" +
            "u3,granted,\n" +
            "u2,granted,2024-04-01\n");

        Assert.Equal(new DateTimeOffset(2024, 5, 1, 8, 0, 0, TimeSpan.Zero), snapshot.Info.AsOf);
    }

    [Fact]
    public void LoadCsv_NoDatedRow_AsOfNull() => Assert.Null(Load("user_id,ai_training,updated_at\nu1,granted,\n").Info.AsOf);

    [Fact]
    public void LoadCsv_AsOfGiven_Overrides()
    {
        var given = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var snapshot = ConsentSnapshot.LoadCsv(
            new MemoryStream("user_id,ai_training,updated_at\nu1,granted,2024-01-01\n"u8.ToArray()), TestData.ConsentName, [TestData.Purpose], given);

        Assert.Equal(given, snapshot.Info.AsOf);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(20_000)]
    public void LoadCsv_Sha256_OfTheFileBytes(int users)
    {
        var text = new StringBuilder("\uFEFFuser_id,ai_training\r\n");
        for (var i = 0; i < users; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"user-{i},granted\r\n");
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        var snapshot = ConsentSnapshot.LoadCsv(new MemoryStream(bytes), TestData.ConsentName, [TestData.Purpose]);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), snapshot.Info.Sha256);
        Assert.Equal(users, snapshot.Info.Users);
        Assert.Equal(ConsentState.Granted, TestData.User(snapshot, $"user-{users - 1}").States[0]);
    }

    /// <summary>Hands out at most one byte per read.</summary>
    private sealed class TrickleStream(byte[] data) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 1));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, 1)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 1)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, 1), cancellationToken);
    }
}
