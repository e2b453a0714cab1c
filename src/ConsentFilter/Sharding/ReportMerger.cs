using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Sharding;

/// <summary>Combines reports of parts of one run (files of a task, tasks of a sharded run) into one report.</summary>
/// <remarks>
/// Counts are summed (records, kept, dropped and quarantined with every reason and error, by_region, blank lines), inputs
/// are concatenated in path order, and the parts must agree on purpose, snapshot and jurisdiction table fingerprints,
/// otherwise they are not parts of one run and merging fails. <c>complete</c> is true only if every part is complete
/// and, for a task set, no task is missing.
/// </remarks>
public static class ReportMerger
{
    // The options shape decisions (fields read, unknown users, limits): parts made under others are not one run.
    private static readonly string[] s_mustAgree = ["schema", "purpose", "options"];

    /// <summary>Merges report JSON documents.</summary>
    /// <exception cref="InvalidDataException">A part is not a report, or the parts disagree on what run they belong to.</exception>
    public static JsonObject Merge(IReadOnlyList<JsonObject> parts, bool complete = true)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new InvalidDataException("no report to merge");
        }

        var merged = (JsonObject)parts[0].DeepClone();
        foreach (var key in s_mustAgree)
        {
            foreach (var part in parts)
            {
                if (part[key]?.ToJsonString() != merged[key]?.ToJsonString())
                {
                    throw new InvalidDataException($"reports disagree on '{key}'");
                }
            }
        }

        foreach (var section in new[] { "snapshot", "jurisdictions" })
        {
            foreach (var part in parts)
            {
                if (part[section]?["sha256"]?.ToJsonString() != merged[section]?["sha256"]?.ToJsonString())
                {
                    throw new InvalidDataException($"reports disagree on the {section} fingerprint (sha256)");
                }

                // The same table read as of another day (--as-of) is another table.
                if (part[section]?["as_of"]?.ToJsonString() != merged[section]?["as_of"]?.ToJsonString())
                {
                    throw new InvalidDataException($"reports disagree on the {section} as-of day");
                }
            }
        }

        foreach (var part in parts)
        {
            // Conservation holds in every report (report-schema.md): a part where it does not was not written by a run.
            var counted = (part["kept"]?.GetValue<long>() ?? 0) + (part["dropped"]?["total"]?.GetValue<long>() ?? 0)
                + (part["quarantined"]?["total"]?.GetValue<long>() ?? 0);
            if (part["records"]?.GetValue<long>() != counted)
            {
                throw new InvalidDataException($"a report's counts do not add up (records {part["records"]?.ToJsonString()} against {counted} kept, dropped and quarantined)");
            }
        }

        merged["records"] = Sum(parts, p => p["records"]);
        merged["kept"] = Sum(parts, p => p["kept"]);
        merged["blank_lines"] = Sum(parts, p => p["blank_lines"]);
        merged["dropped"] = SumSection(parts, "dropped", "by_reason");
        merged["quarantined"] = SumSection(parts, "quarantined", "by_error");
        merged["by_region"] = SumRegions(parts);
        merged["inputs"] = new JsonArray([.. parts.SelectMany(p => p["inputs"]?.AsArray() ?? [])
            .Select(i => i!.DeepClone())
            .OrderBy(i => i["path"]?.GetValue<string>(), StringComparer.Ordinal)]);
        var elapsed = parts.Sum(p => p["elapsed_seconds"]?.GetValue<double>() ?? 0);
        merged["elapsed_seconds"] = Math.Round(elapsed, 3);
        merged["records_per_second"] = elapsed > 0 ? Math.Round(merged["records"]!.GetValue<long>() / elapsed) : 0;
        merged["complete"] = complete && parts.All(p => p["complete"]?.GetValue<bool>() == true);
        merged["parts"] = parts.Count;
        return merged;
    }

    /// <summary>Reads a report file.</summary>
    public static JsonObject Read(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid report ({e.Message})", e);
        }
    }

    /// <summary>Writes a report indented, as <see cref="FilterReport.WriteJson"/> does.</summary>
    public static void Write(JsonObject report, Stream output)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        report.WriteTo(json);
    }

    private static JsonNode Sum(IReadOnlyList<JsonObject> parts, Func<JsonObject, JsonNode?> select) =>
        JsonValue.Create(parts.Sum(p => select(p)?.GetValue<long>() ?? 0));

    private static JsonObject SumSection(IReadOnlyList<JsonObject> parts, string section, string detail)
    {
        var keys = parts.SelectMany(p => p[section]?[detail]?.AsObject().Select(kv => kv.Key) ?? []).Distinct(StringComparer.Ordinal);
        var details = new JsonObject();
        foreach (var key in keys)
        {
            details[key] = Sum(parts, p => p[section]?[detail]?[key]);
        }

        return new JsonObject { ["total"] = Sum(parts, p => p[section]?["total"]), [detail] = details };
    }

    private static JsonObject SumRegions(IReadOnlyList<JsonObject> parts)
    {
        var result = new JsonObject();
        var codes = parts.SelectMany(p => p["by_region"]?.AsObject().Select(kv => kv.Key) ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var code in codes)
        {
            result[code] = new JsonObject
            {
                ["kept"] = Sum(parts, p => p["by_region"]?[code]?["kept"]),
                ["dropped"] = Sum(parts, p => p["by_region"]?[code]?["dropped"]),
            };
        }

        return result;
    }

    /// <summary>The file name of task <paramref name="shard"/>'s report in a run directory's <c>_reports</c> folder.</summary>
    public static string TaskReportName(Shard shard) => string.Create(CultureInfo.InvariantCulture, $"task-{shard.Index:D5}-of-{shard.Count:D5}.json");
}
