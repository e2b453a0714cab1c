namespace ConsentFilter.IO;

/// <summary>Opens record inputs by name: <c>-</c> is standard input; <c>.gz</c> and <c>.zst</c> are decompressed with truncation detected.</summary>
internal static class RecordFiles
{
    internal const string StandardStream = "-";

    internal static Stream OpenRead(string path)
    {
        if (path == StandardStream)
        {
            return new NonClosingStream(Console.OpenStandardInput(1 << 16));
        }

        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return Compression.OpenRead(file, path);
    }
}
