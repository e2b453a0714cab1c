using ConsentFilter.Cli;

ConsentFilter.Parquet.ParquetRecords.Register();

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

return await ConsoleApp.RunAsync(args, Console.Out, Console.Error, cancel.Token).ConfigureAwait(false);
