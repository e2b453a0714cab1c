namespace ConsentFilter.Internal;

/// <summary>Names the separator a comma-separated file seems to use instead, for the error that its header or row does not fit.</summary>
internal static class SeparatorHint
{
    private static readonly (char Separator, string Name)[] s_others = [(';', "';'"), ('\t', "tab"), ('|', "'|'")];

    /// <summary>
    /// " (the header looks separated by ';'; consent CSVs are comma-separated)" when splitting the line the fields came
    /// from by another separator satisfies <paramref name="fits"/>; empty otherwise.
    /// </summary>
    internal static string For(string[] fields, Func<string[], bool> fits, string what, string kind)
    {
        var line = string.Join(",", fields);
        foreach (var (separator, name) in s_others)
        {
            if (line.Contains(separator, StringComparison.Ordinal) && fits(line.Split(separator)))
            {
                return $" (the {what} looks separated by {name}; {kind} are comma-separated)";
            }
        }

        return "";
    }
}
