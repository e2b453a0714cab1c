using ConsentFilter.Consent;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Tests.Properties;

/// <summary>
/// SPEC 2.2, 2.3 and 3 written again, as plainly as possible, over the model of a <see cref="Scenario"/> (not its CSV),
/// so the properties can say what each record's fate must be without asking the code under test.
/// </summary>
public sealed class ReferenceModel
{
    private readonly Dictionary<string, Merged> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Regime> _table = new(StringComparer.Ordinal);
    private readonly Regime _default;
    private readonly bool _unknownAsUnset;

    public ReferenceModel(Scenario scenario)
    {
        _unknownAsUnset = scenario.UnknownAsUnset;

        // SPEC 2.2: the rows that count are the latest dated ones plus every undated one; they merge most restrictively.
        foreach (var group in scenario.Rows.GroupBy(r => r.UserId, StringComparer.Ordinal))
        {
            var latest = group.Where(r => r.UpdatedAt is not null).Select(r => r.UpdatedAt!.Value).DefaultIfEmpty().Max();
            var counted = group.Where(r => r.UpdatedAt is null || r.UpdatedAt.Value == latest).ToList();
            _users[group.Key] = new Merged(
                counted.Max(r => r.State),
                counted.Any(r => r.Gpc),
                counted.Any(r => r.Minor),
                [.. counted.Select(r => r.Region.Trim().ToUpperInvariant()).Where(r => r.Length > 0).Distinct()]);
        }

        // SPEC 2.3: a code listed twice keeps its most restrictive regime; no '*' row means excluded.
        foreach (var row in scenario.Table)
        {
            var code = row.Code.Trim().ToUpperInvariant();
            _table[code] = _table.TryGetValue(code, out var existing) && existing > row.Regime ? existing : row.Regime;
        }

        _default = _table.TryGetValue("*", out var star) ? star : Regime.Excluded;
    }

    /// <summary>The report name of the reason the record is dropped, or null when it is kept.</summary>
    public string? DropReason(RecordLine line) => Verdict(line)?.Reason;

    /// <summary>Why the record is dropped and which subject failed first (0 = author, then 1-based co-subjects), or null when kept.</summary>
    public (string Reason, int Subject, string UserId)? Verdict(RecordLine line)
    {
        if (line.Class != LineClass.Decided)
        {
            throw new ArgumentException("only decided lines have a verdict", nameof(line));
        }

        var recordRegion = line.Region?.Trim().ToUpperInvariant();
        string[] subjects = [line.Author!, .. line.CoSubjects];
        for (var i = 0; i < subjects.Length; i++)
        {
            if (Decide(subjects[i], recordRegion) is { } reason)
            {
                return (reason, i, subjects[i]);
            }
        }

        return null;
    }

    private string? Decide(string userId, string? recordRegion)
    {
        if (!_users.TryGetValue(userId, out var user))
        {
            // SPEC 3 step 1: by option, an unknown user is judged as unset with no home region.
            if (!_unknownAsUnset)
            {
                return "unknown_user";
            }

            user = new Merged(ConsentState.Unset, false, false, []);
        }

        if (user.Minor)
        {
            return "minor";
        }

        var regions = user.HomeRegions.ToList();
        if (recordRegion is not null)
        {
            regions.Add(recordRegion);
        }

        var regime = regions.Count == 0 ? _default : regions.Max(Resolve);
        return regime switch
        {
            Regime.Excluded => "region_excluded",
            _ when user.State == ConsentState.Denied => "opted_out",
            Regime.OptIn when user.State != ConsentState.Granted => "no_opt_in",
            Regime.OptOut when user.State == ConsentState.Unset && user.Gpc => "gpc_opt_out",
            _ => null,
        };
    }

    /// <summary>Exact code, then the country of a subdivision, then '*'; the empty code matches nothing.</summary>
    private Regime Resolve(string code)
    {
        if (code.Length == 0)
        {
            return _default;
        }

        if (_table.TryGetValue(code, out var regime))
        {
            return regime;
        }

        var dash = code.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && _table.TryGetValue(code[..dash], out regime) ? regime : _default;
    }

    private sealed record Merged(ConsentState State, bool Gpc, bool Minor, string[] HomeRegions);
}
