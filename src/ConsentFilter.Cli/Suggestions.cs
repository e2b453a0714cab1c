using System.CommandLine;

namespace ConsentFilter.Cli;

/// <summary>"Did you mean …?" for a mistyped option or command, by edit distance to the names the command knows.</summary>
internal static class Suggestions
{
    public static string For(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var known = command.Options.SelectMany(o => o.Aliases.Append(o.Name))
            .Concat(command.Subcommands.Select(c => c.Name))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        foreach (var token in parse.UnmatchedTokens)
        {
            var best = known.Select(name => (name, distance: Distance(token, name)))
                .Where(c => c.distance <= Math.Max(2, c.name.Length / 3))
                .OrderBy(c => c.distance)
                .FirstOrDefault();
            if (best.name is not null)
            {
                return $" Did you mean '{best.name}'?";
            }
        }

        if (parse.UnmatchedTokens.Count == 0 && command.Subcommands.Count > 0 && parse.Tokens.Count > 0)
        {
            return $" Commands: {string.Join(", ", command.Subcommands.Select(c => c.Name))}.";
        }

        return string.Empty;
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
