using BenchmarkDotNet.Running;
using ConsentFilter.Benchmarks;

return args.FirstOrDefault() switch
{
    "generate" => EndToEnd.Generate(args[1..]),
    "e2e" => await EndToEnd.RunAsync(args[1..]).ConfigureAwait(false),
    "snapshot-scale" => SnapshotScale.Run(args[1..]),
    "consent-csv" => SnapshotScale.WriteExportCsv(args[1..]),
    "snapshot-delta" => SnapshotDelta.Run(args[1..]),
    "consent-load" => ConsentLoad.RunLoad(args[1..]),
    "snapshot-build" => ConsentLoad.RunBuild(args[1..]),
    "probe" => await Probe.RunAsync(args[1..]).ConfigureAwait(false),
    "stream" => await StreamBench.RunAsync(args[1..]).ConfigureAwait(false),
    _ => RunMicro(args),
};

static int RunMicro(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(EndToEnd).Assembly).Run(args);
    return 0;
}
