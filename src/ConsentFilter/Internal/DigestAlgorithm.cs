namespace ConsentFilter.Internal;

/// <summary>The digest algorithms a manifest can name.</summary>
internal enum DigestAlgorithm
{
    /// <summary>SHA-256 (FIPS 180-4); what <c>consentfilter.manifest/v1</c> manifests hold.</summary>
    Sha256,

    /// <summary>BLAKE3 with its default 256-bit output; what manifests are written with since <c>consentfilter.manifest/v2</c>.</summary>
    Blake3,
}

/// <summary>How manifests name the digest algorithms.</summary>
internal static class DigestAlgorithms
{
    /// <summary>The member name a manifest stores a digest under, and its <c>digest</c> value.</summary>
    internal static string Name(DigestAlgorithm algorithm) => algorithm == DigestAlgorithm.Blake3 ? "blake3" : "sha256";

    /// <summary>The algorithm a manifest names; null when it names one this version does not know.</summary>
    internal static DigestAlgorithm? Parse(string? name) => name switch
    {
        "blake3" => DigestAlgorithm.Blake3,
        "sha256" => DigestAlgorithm.Sha256,
        _ => null,
    };
}
