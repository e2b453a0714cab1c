using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConsentFilter.Pipeline;

namespace ConsentFilter.Provenance;

/// <summary>
/// The provenance manifest written beside an output (<c>OUTPUT.manifest.json</c>) in the same commit: what the output
/// is (digest, records), what made it (inputs with digests, snapshot and table fingerprints and dates, purpose, the
/// options that affect decisions, tool version) and which users it contains (keyed 64-bit hashes, sorted). The
/// digest algorithm is named in the manifest (<c>digest</c>: <c>blake3</c>); manifests of schema v1 hold SHA-256.
/// </summary>
public static class Manifest
{
    /// <summary>The schema name written in every manifest.</summary>
    public const string Schema = RunManifest.Schema;

    /// <summary>The manifest path for an output.</summary>
    public static string PathFor(string output) => RunManifest.PathFor(output);

    /// <summary>Reads a manifest (this schema, or <c>consentfilter.manifest/v1</c>).</summary>
    /// <exception cref="InvalidDataException">Not a manifest of this schema.</exception>
    public static JsonObject Read(string path)
    {
        JsonObject? manifest;
        string? schema;
        try
        {
            manifest = JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject;
            schema = manifest?["schema"] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            // Not JSON, a duplicate key (ArgumentException when the object is first read), a value of another type.
            throw new InvalidDataException($"{path}: not a valid manifest ({e.Message})", e);
        }

        return manifest is not null && schema is Schema or RunManifest.SchemaV1
            ? manifest
            : throw new InvalidDataException($"{path}: not a {Schema} manifest");
    }

    /// <summary>The sorted (user, region) hashes of a manifest's kept records (<paramref name="part"/> <c>kept</c>) or dropped ones (<c>dropped</c>).</summary>
    public static ulong[] UserHashes(JsonObject manifest, string part = "kept")
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var packed = Convert.FromBase64String(manifest["users"]?[part]?["hashes"]?.GetValue<string>() ?? string.Empty);
        var hashes = new ulong[packed.Length / 8];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = BinaryPrimitives.ReadUInt64BigEndian(packed.AsSpan(i * 8));
        }

        return hashes;
    }

    /// <summary>Re-hashes an output and compares it with its manifest.</summary>
    /// <returns>Null when they match, else what does not match.</returns>
    public static string? Verify(string output)
    {
        var manifestPath = PathFor(output);
        if (!File.Exists(manifestPath))
        {
            return $"{manifestPath}: no manifest";
        }

        JsonObject manifest;
        try
        {
            manifest = Read(manifestPath);
        }
        catch (InvalidDataException e)
        {
            return e.Message;
        }

        if (DigestMismatch(output, manifest, manifestPath) is { } mismatch)
        {
            return mismatch;
        }

        foreach (var part in manifest["users"]?["overflowed"]?.GetValue<bool>() == true ? [] : new[] { "kept", "dropped" })
        {
            var hashes = manifest["users"]?[part]?["hashes"]?.GetValue<string>() ?? string.Empty;
            var count = manifest["users"]?[part]?["count"]?.GetValue<long>() ?? -1;
            if (hashes.Length % 4 != 0 || Convert.FromBase64String(hashes).Length != count * 8)
            {
                return $"{manifestPath}: user summary is damaged";
            }
        }

        return manifest["output"]?["records"]?.GetValue<long>() is long records && records != CountRecords(output)
            ? $"{output}: record count does not match the manifest's {records}"
            : null;
    }

    /// <summary>Re-hashes <paramref name="output"/> with the manifest's algorithm: null when it matches, else what does not.</summary>
    internal static string? DigestMismatch(string output, JsonObject manifest, string manifestPath)
    {
        var digestName = DigestName(manifest);
        if (Internal.DigestAlgorithms.Parse(digestName) is not { } algorithm)
        {
            return $"{manifestPath}: unknown digest algorithm '{digestName}'";
        }

        var expected = manifest["output"]?[digestName!] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
        var actual = Internal.DigestCore.OfFile(output, algorithm);
        return string.Equals(expected, actual, StringComparison.Ordinal)
            ? null
            : $"{output}: {(algorithm == Internal.DigestAlgorithm.Blake3 ? "BLAKE3" : "SHA-256")} {actual} does not match the manifest's {expected ?? "(none)"}";
    }

    /// <summary>The digest a manifest names (its member name for the output and every input), or null when none.</summary>
    /// <remarks>v1 manifests name no algorithm: they hold SHA-256. An algorithm this version does not know fails verification.</remarks>
    internal static string? DigestName(JsonObject manifest) =>
        manifest["schema"] is JsonValue schema && schema.TryGetValue<string>(out var text) && text == RunManifest.SchemaV1
            ? "sha256"
            : manifest["digest"] is JsonValue named && named.TryGetValue<string>(out var name) ? name : null;

    /// <summary>The records of a kept output, counted by its format's reader (a CSV output's header is no record).</summary>
    private static long CountRecords(string output)
    {
        var input = Pipeline.RecordInput.FromFile(output);
        var format = Pipeline.RecordFormats.ForRun([input], explicitFormat: null);
        return format.CountRecordsAsync(input, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Lowercase hex SHA-256 of a file's bytes (the digest of <c>consentfilter.manifest/v1</c> manifests).</summary>
    public static string Sha256Of(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    /// <summary>Lowercase hex BLAKE3 (256-bit) of a file's bytes: the digest manifests hold (<c>digest</c>: <c>blake3</c>).</summary>
    public static string Blake3Of(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Internal.DigestCore.OfFile(path, Internal.DigestAlgorithm.Blake3);
    }
}
