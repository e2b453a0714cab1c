using ConsentFilter.Cli;

// First, before any thread or file: the baseline native executable hands over to its AVX-512 twin where the CPU has it.
NativeVariant.HandOverToTheWidestBuild(args);

// Parquet and Arrow records come from the adapter package; registering makes the library pick them by extension or content.
ConsentFilter.Parquet.ParquetRecords.Register();

// Standard error tells failures, so it must not become one (an unwritable stderr would abort the process: exit 134).
// Standard output fails when its reader went away, so a printed report nobody received is not a success.
var stderr = TextWriter.Synchronized(new QuietErrorWriter(Console.Error));
Console.SetError(stderr);
await using var stdout = new StreamWriter(ConsentFilter.IO.StandardStreams.OpenOutput(), new System.Text.UTF8Encoding(false)) { AutoFlush = true };

// Ctrl+C, SIGTERM (Kubernetes, Slurm, timeout) and SIGHUP cancel the run; it cleans up and exits 128 + the signal.
using var signals = ShutdownSignals.Register(stderr);
var code = await ConsoleApp.RunAsync(args, stdout, stderr, signals.Token, () => signals.Received is { } s ? ShutdownSignals.NameOf(s) : null)
    .ConfigureAwait(false);
return signals.ExitCode(code);
