using System.Text;

namespace ConsentFilter.Tests.Support;

/// <summary>
/// An independent, character-by-character reading of SPEC 2.1's CSV rules (the oracle): records end at a LF outside
/// quotes (one CR before it belongs to the ending); a quote opens a quoted field only at a field's start.
/// </summary>
internal static class ReferenceCsv
{
    internal static List<(bool Valid, string[] Fields, string Raw)> Parse(string s)
    {
        var records = new List<(bool, string[], string)>();
        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            var rawEnd = -1;
            var fields = new List<string>();
            var valid = true;
            var field = new StringBuilder();
            var atFieldStart = true;
            var ended = false;
            while (i < s.Length && !ended)
            {
                var c = s[i];
                if (atFieldStart && c == '"')
                {
                    atFieldStart = false;
                    i++;
                    var closed = false;
                    while (i < s.Length)
                    {
                        if (s[i] == '"')
                        {
                            if (i + 1 < s.Length && s[i + 1] == '"')
                            {
                                field.Append('"');
                                i += 2;
                                continue;
                            }

                            closed = true;
                            i++;
                            break;
                        }

                        field.Append(s[i++]);
                    }

                    if (!closed)
                    {
                        valid = false;
                        break;
                    }

                    var next = i < s.Length ? s[i] : '\0';
                    var endsHere = i == s.Length || next == ',' || next == '\n' || (next == '\r' && i + 1 < s.Length && s[i + 1] == '\n');
                    if (!endsHere)
                    {
                        valid = false;
                    }

                    continue;
                }

                atFieldStart = false;
                if (c == ',')
                {
                    fields.Add(field.ToString());
                    field.Clear();
                    atFieldStart = true;
                    i++;
                }
                else if (c == '\n')
                {
                    ended = true;
                    rawEnd = i;
                    i++;
                }
                else if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n')
                {
                    ended = true;
                    rawEnd = i;
                    i += 2;
                }
                else
                {
                    field.Append(c);
                    i++;
                }
            }

            fields.Add(field.ToString());
            records.Add((valid, valid ? [.. fields] : [], s[start..(rawEnd < 0 ? s.Length : rawEnd)]));
        }

        return records;
    }
}
