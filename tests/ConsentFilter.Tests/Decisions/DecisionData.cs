namespace ConsentFilter.Tests.Decisions;

/// <summary>One user per situation of SPEC 3, named after it.</summary>
internal static class DecisionData
{
    internal const string Consent = """
        user_id,region,ai_training,gpc,minor
        us_granted,US,granted,,
        us_unset,US,unset,,
        us_denied,US,denied,,
        us_gpc,US,unset,true,
        us_gpc_granted,US,granted,true,
        us_gpc_denied,US,denied,true,
        ca_unset,us-ca,unset,,
        ca_gpc,US-CA,,yes,
        de_granted,DE,granted,,
        de_unset,DE,unset,,
        de_denied,DE,denied,,
        de_gpc,DE,unset,true,
        de_gpc_granted,DE,granted,true,
        cn_granted,CN,granted,,
        cn_denied,CN,denied,,
        minor_us,US,granted,,true
        minor_cn,CN,denied,,true
        minor_de_gpc,DE,unset,true,true
        nohome_granted,,granted,,
        nohome_unset,,unset,,
        multi_unset,US,unset,,
        multi_unset,DE,unset,,
        multi_granted,US,granted,,
        multi_granted,CN,granted,,
        42,US,granted,,
        -5,US,granted,,
        """;

    /// <summary>Like <see cref="TestData.Table"/> but the default is opt-out.</summary>
    internal const string OpenTable = "US,opt-out\nDE,opt-in\nCN,excluded\n*,opt-out\n";
}
