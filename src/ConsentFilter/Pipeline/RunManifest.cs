using System.Buffers.Binary;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ConsentFilter.Pipeline;

/// <summary>
/// Builds the provenance manifest a file run commits beside its output (read, verified and used by
/// <see cref="Provenance.Manifest"/> and purge): the writing side lives with the run, the reading side above it.
/// </summary>
internal static class RunManifest
{
    /// <summary>The schema name written in every manifest.</summary>
    /// <remarks>v2 names its digest algorithm (<c>digest</c>) and stores each digest under that name; v1 held SHA-256 only.</remarks>
    internal const string Schema = "consentfilter.manifest/v2";

    /// <summary>The schema of manifests written before the digest was named; still read and verified.</summary>
    internal const string SchemaV1 = "consentfilter.manifest/v1";

    /// <summary>
    /// The digest of every input and output: BLAKE3, chosen by measurement (docs/performance.md, "The manifest's cost"):
    /// on this project's 2-core SHA-NI machine it costs ~0.24 CPU s per GiB against SHA-256's ~0.66, which the
    /// pipeline could not hide.
    /// </summary>
    internal const Internal.DigestAlgorithm Digest = Internal.DigestAlgorithm.Blake3;

    /// <summary>The manifest path for an output.</summary>
    internal static string PathFor(string output) => output + ".manifest.json";

    internal static byte[] Build(FilterReport report, string outputDigest, IReadOnlyList<string> inputDigests, ulong summaryKey, OutputSummary summary, bool keyIsSecret)
    {
        var digest = Internal.DigestAlgorithms.Name(Digest);
        var inputs = new JsonArray();
        for (var i = 0; i < report.Inputs.Count; i++)
        {
            var input = report.Inputs[i];
            // As a JsonNode: the generic Add<T> would need runtime code generation (not available to a native build).
            inputs.Add((JsonNode)new JsonObject
            {
                ["path"] = input.Path,
                [digest] = inputDigests[i],
                ["records"] = input.Counts.Records,
                ["kept"] = input.Counts.Kept,
                ["dropped"] = input.Counts.DroppedTotal,
                ["quarantined"] = input.Counts.QuarantinedTotal,
            });
        }

        var manifest = new JsonObject
        {
            ["schema"] = Schema,
            ["digest"] = digest,
            ["output"] = new JsonObject { [digest] = outputDigest, ["records"] = report.Totals.Kept },
            ["inputs"] = inputs,
            ["purpose"] = report.Purpose,
            ["snapshot"] = new JsonObject
            {
                ["sha256"] = report.Snapshot.Sha256,
                ["as_of"] = report.Snapshot.AsOf?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", CultureInfo.InvariantCulture),
                ["users"] = report.Snapshot.Users,
            },
            ["jurisdictions"] = new JsonObject
            {
                ["sha256"] = report.Jurisdictions.Sha256,
                ["builtin"] = report.Jurisdictions.IsBuiltIn,
                ["as_of"] = report.Jurisdictions.AsOf?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            },
            ["options"] = new JsonObject
            {
                ["user_field"] = report.Options.UserField,
                ["region_field"] = report.Options.RegionField,
                ["subject_fields"] = new JsonArray([.. report.Options.SubjectFields.Select(f => (JsonNode)f)]),
                ["unknown_users"] = report.Options.UnknownUsers == Decisions.UnknownUserPolicy.Drop ? "drop" : "treat-as-unset",
                ["max_line_length"] = report.Options.MaxLineLength,
                ["max_subjects"] = report.Options.MaxSubjects,
            },
            ["tool"] = new JsonObject { ["name"] = "consentfilter", ["version"] = FilterReport.ToolVersion },
            ["users"] = new JsonObject
            {
                ["hash"] = "xxh3-64(user id bytes, 0xFF, normalized record region as UTF-16LE)",
                // Without a secret key the seed is stored so the summary can be checked later; with one it is not.
                ["seed"] = keyIsSecret ? null : summaryKey.ToString(CultureInfo.InvariantCulture),
                // An overflowed summary is absent: purge then re-filters this output in full.
                ["overflowed"] = summary.Overflowed,
                ["regions"] = summary.Overflowed ? null : new JsonArray([.. summary.Regions.Order(StringComparer.Ordinal).Select(r => (JsonNode)r)]),
                ["kept"] = summary.Overflowed ? null : Pack(summary.Kept),
                ["dropped"] = summary.Overflowed ? null : Pack(summary.Dropped),
            },
        };

        // Sized for the summary's base64 (4/3 of 8 bytes a hash) so the buffer is not regrown and copied as it fills.
        using var buffer = new MemoryStream(summary.Overflowed ? 1 << 16 : (1 << 16) + (((summary.Kept.Count + summary.Dropped.Count) * 32 / 3) + 8));
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            manifest.WriteTo(json);
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static JsonObject Pack(Internal.UInt64Set hashes)
    {
        var sorted = hashes.ToSortedArray();
        var packed = new byte[sorted.Length * 8];
        for (var i = 0; i < sorted.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(packed.AsSpan(i * 8), sorted[i]);
        }

        return new JsonObject { ["count"] = sorted.Length, ["hashes"] = Convert.ToBase64String(packed) };
    }
}
