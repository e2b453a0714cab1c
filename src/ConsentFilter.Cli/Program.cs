using ConsentFilter.Cli;

// First, before any thread or file: the baseline native executable hands over to its AVX-512 twin where the CPU has it.
NativeVariant.HandOverToTheWidestBuild(args);

// Parquet and Arrow records come from the adapter package; registering makes the library pick them by extension or content.
ConsentFilter.Parquet.ParquetRecords.Register();

// Ctrl+C, SIGTERM (Kubernetes, Slurm, timeout) and SIGHUP cancel the run; it cleans up and exits 128 + the signal.
using var signals = ShutdownSignals.Register(Console.Error);
var code = await ConsoleApp.RunAsync(args, Console.Out, Console.Error, signals.Token, () => signals.Received is { } s ? ShutdownSignals.NameOf(s) : null)
    .ConfigureAwait(false);
return signals.ExitCode(code);
