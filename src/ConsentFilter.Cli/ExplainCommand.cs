using System.CommandLine;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Cli;

/// <summary><c>consentfilter explain</c>: the decision for one user and every step that led to it.</summary>
internal static class ExplainCommand
{
    public static Command Create(TextWriter stdout)
    {
        var consent = CommonOptions.Consent(orDatabase: true);
        var database = new ConsentDatabaseOptions();
        var jurisdictions = CommonOptions.Jurisdictions();
        var purpose = CommonOptions.Purpose();
        var unknownUsers = CommonOptions.UnknownUsers();
        var asOf = CommonOptions.AsOf();
        var user = new Option<string>("--user") { Description = "The user id, exactly as in the consent file.", Required = true, HelpName = "ID" };
        var region = new Option<string?>("--region") { Description = "A record region (ISO 3166-1 or 3166-2), if the record has one.", HelpName = "R" };

        var command = new Command("explain", "Explain the decision for one user, step by step.\n\nExample:\n  consentfilter explain --consent samples/consent.csv --jurisdictions samples/jurisdictions.csv --user u0042 --region US-CA")
        {
            consent, jurisdictions, purpose, unknownUsers, asOf, user, region,
        };
        foreach (var option in database.All)
        {
            command.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var purposeName = parse.GetValue(purpose)!;
            using var temporary = database.Resolve(parse, consent, [purposeName], cancellationToken, out var consentPath);
            var snapshot = SnapshotFiles.Open(consentPath, [purposeName]);
            using var owned = snapshot as IDisposable;
            var day = CommonOptions.ParseAsOf(parse.GetValue(asOf)) ?? (snapshot.Info.AsOf is { } a ? DateOnly.FromDateTime(a.UtcDateTime) : null);
            var table = parse.GetValue(jurisdictions) is { } path ? JurisdictionTable.LoadFile(path, day) : JurisdictionTable.BuiltIn;
            var policy = new ConsentPolicy(snapshot, table, purposeName, CommonOptions.ParseUnknownUsers(parse.GetValue(unknownUsers)!));
            var explanation = policy.Explain(parse.GetValue(user)!, parse.GetValue(region));

            await stdout.WriteLineAsync($"purpose: {explanation.Purpose}").ConfigureAwait(false);
            await stdout.WriteLineAsync($"jurisdictions: {(table.IsBuiltIn ? "built-in" : table.Source)}{(table.AsOf is { } d ? $" as of {d:yyyy-MM-dd}" : string.Empty)}").ConfigureAwait(false);
            foreach (var step in explanation.Steps)
            {
                await stdout.WriteLineAsync(step).ConfigureAwait(false);
            }

            var verdict = explanation.Verdict;
            await stdout.WriteLineAsync(verdict.IsAllowed
                ? $"decision: allowed (regime {verdict.Region.Regime.ToName()}, table code '{verdict.Region.Code}')"
                : $"decision: dropped: {verdict.Reason.ToName()} (regime {verdict.Region.Regime.ToName()}, table code '{verdict.Region.Code}')").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
