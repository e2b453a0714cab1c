using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

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

    /// <summary>Whether the file at <paramref name="path"/> reads as a manifest of either schema (false when unreadable).</summary>
    internal static bool IsManifest(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("schema", out var schema)
                && schema.ValueKind == JsonValueKind.String
                && schema.GetString() is Schema or SchemaV1;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// The digest of every input and output: BLAKE3, chosen by measurement (docs/performance.md, "The manifest's cost"):
    /// on this project's 2-core SHA-NI machine it costs ~0.24 CPU s per GiB against SHA-256's ~0.66, which the
    /// pipeline could not hide.
    /// </summary>
    internal const Internal.DigestAlgorithm Digest = Internal.DigestAlgorithm.Blake3;

    /// <summary>Bytes of packed hashes encoded a segment at a time: a multiple of 3 (whole base64 groups) and of 8 (whole hashes).</summary>
    internal const int HashSegmentBytes = 3 * 8 * 4096;

    /// <summary>The manifest path for an output.</summary>
    internal static string PathFor(string output) => output + ".manifest.json";

    /// <summary>Writes the manifest to <paramref name="destination"/>: indented JSON and a final line feed.</summary>
    /// <remarks>
    /// Written straight to the stream: the packed summary hashes (megabytes for a large output) go out as base64 in
    /// segments of <see cref="HashSegmentBytes"/>, with no base64 string, JSON tree or whole-manifest buffer in between.
    /// The bytes are those of the JSON tree this replaced (pinned by a test against that serialization).
    /// </remarks>
    internal static async Task WriteAsync(
        Stream destination, FilterReport report, string outputDigest, IReadOnlyList<string> inputDigests, ulong summaryKey, SortedSummary summary, bool keyIsSecret, CancellationToken cancellationToken)
    {
        var digest = Internal.DigestAlgorithms.Name(Digest);
        var json = new Utf8JsonWriter(destination, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        await using (json.ConfigureAwait(false))
        {
            json.WriteStartObject();
            json.WriteString("schema", Schema);
            json.WriteString("digest", digest);
            json.WriteStartObject("output");
            json.WriteString(digest, outputDigest);
            json.WriteNumber("records", report.Totals.Kept);
            json.WriteEndObject();
            json.WriteStartArray("inputs");
            for (var i = 0; i < report.Inputs.Count; i++)
            {
                var input = report.Inputs[i];
                json.WriteStartObject();
                json.WriteString("path", input.Path);
                json.WriteString(digest, inputDigests[i]);
                json.WriteNumber("records", input.Counts.Records);
                json.WriteNumber("kept", input.Counts.Kept);
                json.WriteNumber("dropped", input.Counts.DroppedTotal);
                json.WriteNumber("quarantined", input.Counts.QuarantinedTotal);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("purpose", report.Purpose);
            json.WriteStartObject("snapshot");
            json.WriteString("sha256", report.Snapshot.Sha256);
            json.WriteString("as_of", report.Snapshot.AsOf?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", CultureInfo.InvariantCulture));
            json.WriteNumber("users", report.Snapshot.Users);
            json.WriteEndObject();
            json.WriteStartObject("jurisdictions");
            json.WriteString("sha256", report.Jurisdictions.Sha256);
            json.WriteBoolean("builtin", report.Jurisdictions.IsBuiltIn);
            json.WriteString("as_of", report.Jurisdictions.AsOf?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            json.WriteEndObject();
            json.WriteStartObject("options");
            json.WriteString("user_field", report.Options.UserField);
            json.WriteString("region_field", report.Options.RegionField);
            json.WriteStartArray("subject_fields");
            foreach (var field in report.Options.SubjectFields)
            {
                json.WriteStringValue(field);
            }

            json.WriteEndArray();
            json.WriteString("unknown_users", report.Options.UnknownUsers == Decisions.UnknownUserPolicy.Drop ? "drop" : "treat-as-unset");
            json.WriteNumber("max_line_length", report.Options.MaxLineLength);
            json.WriteNumber("max_subjects", report.Options.MaxSubjects);
            json.WriteEndObject();
            json.WriteStartObject("tool");
            json.WriteString("name", "consentfilter");
            json.WriteString("version", FilterReport.ToolVersion);
            json.WriteEndObject();
            json.WriteStartObject("users");
            json.WriteString("hash", "xxh3-64(user id bytes, 0xFF, normalized record region as UTF-16LE)");
            // Without a secret key the seed is stored so the summary can be checked later; with one it is not.
            json.WriteString("seed", keyIsSecret ? null : summaryKey.ToString(CultureInfo.InvariantCulture));
            // An overflowed summary is absent: purge then re-filters this output in full.
            json.WriteBoolean("overflowed", summary.Overflowed);
            if (summary.Overflowed)
            {
                json.WriteNull("regions");
                json.WriteNull("kept");
                json.WriteNull("dropped");
            }
            else
            {
                json.WriteStartArray("regions");
                foreach (var region in summary.Regions)
                {
                    json.WriteStringValue(region);
                }

                json.WriteEndArray();
                await WriteHashesAsync(json, "kept", await summary.Kept.ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                await WriteHashesAsync(json, "dropped", await summary.Dropped.ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            }

            json.WriteEndObject();
            json.WriteEndObject();
            await json.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        await destination.WriteAsync("\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteHashesAsync(Utf8JsonWriter json, string name, Internal.PackedHashes hashes, CancellationToken cancellationToken)
    {
        json.WriteStartObject(name);
        json.WriteNumber("count", hashes.Count);
        json.WritePropertyName("hashes");
        var length = hashes.Count * 8;
        var offset = 0;
        do
        {
            var n = Math.Min(HashSegmentBytes, length - offset);
            json.WriteBase64StringSegment(hashes.Bytes.Slice(offset, n), isFinalSegment: offset + n == length);
            offset += n;
            await json.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        while (offset < length);

        json.WriteEndObject();
    }
}
