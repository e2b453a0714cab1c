namespace ConsentFilter.IO;

/// <summary>Opens record inputs by name: <c>-</c> is standard input; compressed names are refused until supported.</summary>
internal static class RecordFiles
{
    internal const string StandardStream = "-";

    internal static Stream OpenRead(string path)
    {
        if (path == StandardStream)
        {
            return new NonClosingStream(Console.OpenStandardInput(1 << 16));
        }

        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".zst", StringComparison.OrdinalIgnoreCase))
        {
            // Fail closed: .NET's GZipStream accepts a truncated file silently; compressed inputs arrive with checked readers.
            throw new NotSupportedException($"{path}: compressed record files are not supported yet; decompress to a pipe with --records -");
        }

        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
    }
}
