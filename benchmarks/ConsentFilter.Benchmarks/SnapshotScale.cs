namespace ConsentFilter.Benchmarks;

/// <summary>Placeholder until the compiled snapshot lands.</summary>
internal static class SnapshotScale
{
    internal static int Run(string[] args)
    {
        _ = args;
        Console.WriteLine("snapshot-scale: not available yet");
        return 0;
    }
}
