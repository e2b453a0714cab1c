using System.CommandLine;
using ConsentFilter.Decisions;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Cli;

/// <summary>Options shared by several commands, defined once.</summary>
internal static class CommonOptions
{
    public static Option<string> Consent() => new("--consent")
    {
        Description = "Consent snapshot: a consent CSV or a compiled snapshot file (snapshot build).",
        Required = true,
        HelpName = "CSV|SNAPSHOT",
    };

    public static Option<string?> Jurisdictions() => new("--jurisdictions")
    {
        Description = "Jurisdiction table CSV (code,regime[,note]). Omitted: the built-in table, a conservative starting point, not legal advice.",
        HelpName = "CSV",
    };

    public static Option<string> Purpose() => new("--purpose")
    {
        Description = "Purpose to filter for.",
        DefaultValueFactory = _ => ConsentFilterDefaults.Purpose,
    };

    public static Option<string> UnknownUsers() => new Option<string>("--unknown-users")
    {
        Description = "Users not in the snapshot: drop (fail-closed) or treat-as-unset.",
        DefaultValueFactory = _ => "drop",
    }.AcceptOnlyFromAmong("drop", "treat-as-unset");

    public static UnknownUserPolicy ParseUnknownUsers(string value) =>
        value == "treat-as-unset" ? UnknownUserPolicy.TreatAsUnset : UnknownUserPolicy.Drop;
}
