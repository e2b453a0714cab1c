using System.Runtime.InteropServices;

namespace ConsentFilter.IO;

/// <summary>The file operations a file run performs, in one place so tests can fail any one of them (docs/reliability.md).</summary>
/// <remarks>
/// Internal on purpose: it is a test seam, not an extension point. Every input and output of
/// <see cref="Pipeline.RecordFilter.RunToFilesAsync"/> goes through it; the consent and jurisdiction files do not, since
/// a problem with them stops the run before any output exists.
/// </remarks>
internal interface IFileSystem
{
    /// <summary>Opens a records file for reading (raw bytes; decompression is layered on top).</summary>
    Stream OpenRead(string path);

    /// <summary>Creates a new file (failing if it exists) for writing, creating missing parent directories.</summary>
    Stream CreateNew(string path);

    /// <summary>Flushes a stream returned by <see cref="CreateNew"/> through to the disk.</summary>
    void FlushToDisk(Stream stream);

    /// <summary>Whether a file exists at <paramref name="path"/>.</summary>
    bool Exists(string path);

    /// <summary>Renames <paramref name="source"/> to <paramref name="destination"/>, replacing it if <paramref name="overwrite"/>.</summary>
    void Move(string source, string destination, bool overwrite);

    /// <summary>Deletes a file; no error if it does not exist.</summary>
    void Delete(string path);

    /// <summary>Makes the renames inside <paramref name="directory"/> durable (best effort where the platform cannot).</summary>
    void FlushDirectory(string directory);
}

/// <summary>The real file system.</summary>
internal sealed partial class PhysicalFileSystem : IFileSystem
{
    private const int OpenReadOnly = 0; // O_RDONLY, which opens a directory too (O_DIRECTORY differs between architectures)

    /// <summary>The write buffer of a created file: writes this large or larger bypass it.</summary>
    internal const int WriteBufferSize = 64 * 1024;

    private PhysicalFileSystem()
    {
    }

    internal static PhysicalFileSystem Instance { get; } = new();

    public Stream OpenRead(string path) =>
        new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);

    public Stream CreateNew(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".");
        // A 64 KiB buffer gathers small writes (reports, logs, columnar pages); a write at least that large — a batch of
        // kept records, hundreds of KiB — goes to the file directly. With a 1 MiB buffer every batch was first copied
        // into it (1 % of a run's CPU).
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, WriteBufferSize, FileOptions.Asynchronous);
        return OperatingSystem.IsLinux() ? new EarlyWritebackStream(file) : file;
    }

    public void FlushToDisk(Stream stream) => (stream is EarlyWritebackStream early ? early.Inner : (FileStream)stream).Flush(flushToDisk: true);

    public bool Exists(string path) => File.Exists(path);

    public void Move(string source, string destination, bool overwrite) => File.Move(source, destination, overwrite);

    public void Delete(string path) => File.Delete(path);

    /// <remarks>
    /// A rename is durable only once its directory is flushed (FACTS: crash consistency). .NET cannot open a directory
    /// as a stream, so on Linux this calls <c>open</c> and <c>fsync</c> directly; elsewhere it does nothing.
    /// Failures are ignored: some file systems refuse to fsync a directory, and the data itself is already flushed.
    /// </remarks>
    public void FlushDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            var fd = NativeMethods.Open(directory, OpenReadOnly);
            if (fd < 0)
            {
                return;
            }

            _ = NativeMethods.Fsync(fd);
            _ = NativeMethods.Close(fd);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc to call: the rename stands, only its durability on power loss is left to the file system.
        }
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static partial int Fsync(int fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static partial int Close(int fd);
    }
}
