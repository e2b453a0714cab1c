namespace ConsentFilter.IO;

/// <summary>Opens record inputs by name: <c>-</c> is standard input; <c>.gz</c> and <c>.zst</c> are decompressed with truncation detected.</summary>
internal static class RecordFiles
{
    internal const string StandardStream = "-";

    internal static Stream OpenRead(string path) => OpenRead(path, PhysicalFileSystem.Instance);

    /// <summary>Opens a record file, feeding its bytes as stored (before decompression) into <paramref name="hash"/>.</summary>
    internal static Stream OpenRead(string path, IFileSystem fileSystem, System.Security.Cryptography.IncrementalHash hash)
    {
        if (path == StandardStream)
        {
            return OpenRead(path, fileSystem);
        }

        return Compression.OpenRead(new Internal.HashingReadStream(fileSystem.OpenRead(path), hash), path);
    }

    internal static Stream OpenRead(string path, IFileSystem fileSystem)
    {
        if (path == StandardStream)
        {
            return new NonClosingStream(Console.OpenStandardInput(1 << 16));
        }

        return Compression.OpenRead(fileSystem.OpenRead(path), path);
    }
}
