using BenchmarkDotNet.Attributes;
using ConsentFilter.Internal;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// What the manifest's digest costs a byte, on one core, with the bytes in cache: the floor of the manifest's cost on a
/// machine whose cores are all busy filtering (docs/performance.md, "The manifest's floor").
/// </summary>
/// <remarks>
/// 64 MiB hashed in updates of the sizes the pipeline makes: 1 MiB (the reader's batch reads) and 320 KiB (a typical
/// batch of kept records written). The bytes are random: neither hash's speed depends on content.
/// Run with: <c>dotnet run -c Release --project benchmarks/ConsentFilter.Benchmarks -- --filter '*DigestBenchmarks*'</c>.
/// </remarks>
public class DigestBenchmarks
{
    private const int TotalBytes = 64 << 20;

    private byte[] _data = [];

    /// <summary>As a manifest names it.</summary>
    [Params("blake3", "sha256")]
    public string Algorithm { get; set; } = "blake3";

    [Params(1 << 20, 320 << 10)]
    public int UpdateBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[TotalBytes];
        new Random(42).NextBytes(_data);
    }

    /// <summary>64 MiB through one digest; divide the mean by 64 for the cost of a MiB.</summary>
    [Benchmark]
    public byte[] Hash64MiB()
    {
        using var core = DigestCore.Create(DigestAlgorithms.Parse(Algorithm)!.Value);
        for (var offset = 0; offset < TotalBytes; offset += UpdateBytes)
        {
            core.Append(_data.AsSpan(offset, Math.Min(UpdateBytes, TotalBytes - offset)));
        }

        return core.Finish();
    }
}
