using System.Text;
using ConsentFilter.Cli;

namespace ConsentFilter.Tests.Docs;

/// <summary>
/// Every stream example in docs/streaming.md and in <c>stream --help</c> can be pasted into a POSIX shell: no subject
/// carries an unquoted <c>&gt;</c>, which the shell would read as a redirection.
/// </summary>
public sealed class StreamingDocsTests
{
    private static readonly string[] s_subjectOptions = ["--input", "--output", "--quarantine-subject"];

    [Fact]
    public async Task StreamingDoc_ShellExamples_QuoteEveryWildcardSubject()
    {
        var doc = await File.ReadAllTextAsync(Path.Combine(ReadmeTests.RepositoryRoot(), "docs", "streaming.md"));
        var commands = ShellBlocks(doc).SelectMany(Commands).ToList();

        Assert.True(commands.Count(c => c.StartsWith("consentfilter stream ", StringComparison.Ordinal)) >= 2, "docs/streaming.md lost its stream examples");
        Assert.Empty(commands.Where(c => UnquotedSubjectRedirection(c) is not null).Select(c => $"{UnquotedSubjectRedirection(c)}: {c}"));
    }

    [Fact]
    public async Task StreamHelp_Examples_QuoteEveryWildcardSubject()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, await ConsoleApp.RunAsync(["stream", "--help"], stdout, stderr));
        var commands = Commands(stdout.ToString()).Where(c => c.StartsWith("consentfilter ", StringComparison.Ordinal)).ToList();

        Assert.True(commands.Count >= 2, "stream --help lost its examples:\n" + stdout);
        Assert.Empty(commands.Where(c => UnquotedSubjectRedirection(c) is not null).Select(c => $"{UnquotedSubjectRedirection(c)}: {c}"));
    }

    [Theory]
    [InlineData("consentfilter stream --input RECORDS/records.> --output kept", "--input")]
    [InlineData("consentfilter stream --input RECORDS/> --output kept", "--input")]
    [InlineData("consentfilter stream --input=RECORDS/records.> --output kept", "--input")]
    [InlineData("consentfilter stream --input 'RECORDS/records.>' --output out.>", "--output")]
    [InlineData("consentfilter stream --input R --output kept --quarantine-subject >", "--quarantine-subject")]
    [InlineData("nats sub records.>", "records.>")]
    [InlineData("consentfilter stream --input 'RECORDS/records.>' --output \"out.\\>\" --quarantine-subject 'q.>'", null)]
    [InlineData("consentfilter stream --input RECORDS/records.\\> --output kept", null)]
    [InlineData("consentfilter stream --input R --output kept > counts.json 2> err.txt", null)]
    [InlineData("consentfilter stream --input R --output kept # records.> in a comment", null)]
    public void UnquotedSubjectRedirection_FlagsOnlyUnquotedWildcards(string command, string? expected)
    {
        Assert.Equal(expected, UnquotedSubjectRedirection(command));
    }

    /// <summary>The subject option (or subject-like word) holding an unquoted <c>&gt;</c>, or null when there is none.</summary>
    /// <remarks>
    /// Words are split as a POSIX shell splits them (single quotes, double quotes, backslash escapes, <c>#</c> comments),
    /// remembering which characters were quoted. A subject argument is the word after a subject option (or after its
    /// <c>=</c>); any other word with an unquoted <c>&gt;</c> right after a <c>.</c> or <c>/</c> is a subject too.
    /// </remarks>
    internal static string? UnquotedSubjectRedirection(string command)
    {
        var words = Words(command);
        for (var i = 0; i < words.Count; i++)
        {
            var (text, quoted) = words[i];
            foreach (var option in s_subjectOptions)
            {
                if (text == option && i + 1 < words.Count && HasUnquoted(words[i + 1], 0))
                {
                    return option;
                }

                if (text.StartsWith(option + "=", StringComparison.Ordinal) && HasUnquoted(words[i], option.Length + 1))
                {
                    return option;
                }
            }

            for (var c = 1; c < text.Length; c++)
            {
                if (text[c] == '>' && !quoted[c] && text[c - 1] is '.' or '/')
                {
                    return text;
                }
            }
        }

        return null;

        static bool HasUnquoted((string Text, bool[] Quoted) word, int start)
        {
            for (var c = start; c < word.Text.Length; c++)
            {
                if (word.Text[c] == '>' && !word.Quoted[c])
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Commands of a shell text: backslash-newline continuations joined, one command per line, blank lines skipped.</summary>
    private static IEnumerable<string> Commands(string text) =>
        text.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'));

    private static List<(string Text, bool[] Quoted)> Words(string command)
    {
        var words = new List<(string, bool[])>();
        var text = new StringBuilder();
        var quoted = new List<bool>();
        var inWord = false;
        for (var i = 0; i < command.Length; i++)
        {
            var ch = command[i];
            if (ch is ' ' or '\t')
            {
                Flush();
            }
            else if (ch == '#' && !inWord)
            {
                break;
            }
            else if (ch == '\\' && i + 1 < command.Length)
            {
                Add(command[++i], true);
            }
            else if (ch is '\'' or '"')
            {
                inWord = true;
                var end = command.IndexOf(ch, i + 1);
                Assert.True(end > i, $"unterminated quote in: {command}");
                foreach (var q in command.AsSpan(i + 1, end - i - 1))
                {
                    Add(q, true);
                }

                i = end;
            }
            else
            {
                Add(ch, false);
            }
        }

        Flush();
        return words;

        void Add(char ch, bool isQuoted)
        {
            inWord = true;
            text.Append(ch);
            quoted.Add(isQuoted);
        }

        void Flush()
        {
            if (inWord)
            {
                words.Add((text.ToString(), quoted.ToArray()));
            }

            text.Clear();
            quoted.Clear();
            inWord = false;
        }
    }

    /// <summary>The bodies of the fenced blocks marked <c>sh</c>, <c>bash</c>, <c>shell</c> or not marked.</summary>
    private static IEnumerable<string> ShellBlocks(string markdown)
    {
        StringBuilder? body = null;
        var isShell = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (!line.StartsWith("```", StringComparison.Ordinal))
            {
                body?.Append(line).Append('\n');
            }
            else if (body is null)
            {
                body = new StringBuilder();
                isShell = line[3..].Trim() is "" or "sh" or "bash" or "shell";
            }
            else
            {
                if (isShell)
                {
                    yield return body.ToString();
                }

                body = null;
            }
        }

        Assert.True(body is null, "docs/streaming.md has an unclosed code block");
    }
}
