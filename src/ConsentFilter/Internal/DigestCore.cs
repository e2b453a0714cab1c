using System.Buffers;
using System.Security.Cryptography;

namespace ConsentFilter.Internal;

/// <summary>One incremental hash behind <see cref="StreamDigest"/>.</summary>
internal abstract class DigestCore : IDisposable
{
    internal static DigestCore Create(DigestAlgorithm algorithm) => algorithm switch
    {
        DigestAlgorithm.Sha256 => new Sha256Core(),
        DigestAlgorithm.Blake3 => new Blake3Core(),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null),
    };

    /// <summary>The digest of a whole file, in one pass on the calling thread (for <c>verify</c>).</summary>
    internal static string OfFile(string path, DigestAlgorithm algorithm)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        using var core = Create(algorithm);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int n;
            while ((n = file.Read(buffer)) > 0)
            {
                core.Append(buffer.AsSpan(0, n));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(core.Finish());
    }

    internal abstract void Append(ReadOnlySpan<byte> data);

    internal abstract byte[] Finish();

    public abstract void Dispose();

    private sealed class Sha256Core : DigestCore
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        internal override void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

        internal override byte[] Finish() => _hash.GetHashAndReset();

        public override void Dispose() => _hash.Dispose();
    }

    private sealed class Blake3Core : DigestCore
    {
        private readonly Blake3.Hasher _hasher = Blake3.Hasher.New();

        internal override void Append(ReadOnlySpan<byte> data) => _hasher.Update(data);

        internal override byte[] Finish()
        {
            var hash = _hasher.Finalize();
            return hash.AsSpan().ToArray();
        }

        public override void Dispose() => _hasher.Dispose();
    }
}
