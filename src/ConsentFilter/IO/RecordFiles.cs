namespace ConsentFilter.IO;

/// <summary>
/// Opens record inputs by name: <c>-</c> is standard input; gzip and zstd content (by magic bytes, or a <c>.gz</c> or
/// <c>.zst</c> name that must then match the content) is decompressed and read to its end.
/// </summary>
internal static class RecordFiles
{
    internal const string StandardStream = "-";

    internal static Stream OpenRead(string path) => OpenRead(path, PhysicalFileSystem.Instance);

    internal static Stream OpenRead(string path, IFileSystem fileSystem)
    {
        var raw = OpenRaw(path, fileSystem, null);
        try
        {
            return Compression.OpenRead(raw, path);
        }
        catch
        {
            raw.Dispose();
            throw;
        }
    }

    /// <summary>Opens a record file; with <paramref name="digest"/>, its bytes as stored (before decompression) are digested as they are read.</summary>
    internal static async ValueTask<Stream> OpenReadAsync(
        string path, IFileSystem fileSystem, Internal.StreamDigest? digest, CancellationToken cancellationToken)
    {
        var raw = OpenRaw(path, fileSystem, digest);
        try
        {
            return await Compression.OpenReadAsync(raw, path, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await raw.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static Stream OpenRaw(string path, IFileSystem fileSystem, Internal.StreamDigest? digest)
    {
        if (path == StandardStream)
        {
            return new NonClosingStream(Console.OpenStandardInput(1 << 16));
        }

        var file = fileSystem.OpenRead(path);
        return digest is null ? file : new Internal.DigestingReadStream(file, digest);
    }
}
