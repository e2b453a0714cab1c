using System.Text;
using ConsentFilter.IO;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.IO;

/// <summary>The commit's edges found by a black-box review: a backup move that copies and then fails, and final names near 255 bytes.</summary>
public sealed class AtomicCommitEdgeTests
{
    /// <summary>
    /// The move of the older file aside copies it and then fails to remove the original (EPERM in a sticky directory, an
    /// immutable file), or fails after the original went: either way the final path holds the older file and no copy stays.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Publish_BackupMoveCopiesThenFails_TheOlderFileStaysAndNoCopy(bool originalGone)
    {
        using var dir = new TempDirectory();
        var final = dir.Write("kept.jsonl", "older\n");
        var fileSystem = new CopyingMoveThatFails(PhysicalFileSystem.Instance, removeOriginal: originalGone);
        await using var file = AtomicFile.Create(final, fileSystem);
        file.Stream.Write("newer\n"u8);
        await file.PrepareAsync(CancellationToken.None);

        Assert.Throws<UnauthorizedAccessException>(() => AtomicCommit.Publish([file], fileSystem));

        Assert.Equal("older\n", File.ReadAllText(final));
        Assert.Equal(["kept.jsonl"], dir.FileNames());
    }

    [Theory]
    [InlineData(200, "k")]
    [InlineData(218, "k")]
    [InlineData(255, "k")]
    [InlineData(84, "é")] // 2 bytes each: 168 + ".jsonl"
    [InlineData(62, "😀")] // 4 bytes each: 248 + ".jsonl"
    public async Task Create_FinalNameUpTo255Bytes_CommitsUnderThatName(int repeat, string unit)
    {
        using var dir = new TempDirectory();
        var name = string.Concat(Enumerable.Repeat(unit, repeat));
        name = Encoding.UTF8.GetByteCount(name) + 6 <= 255 ? name + ".jsonl" : name;
        var final = dir.File(name);
        await using (var file = AtomicFile.Create(final))
        {
            file.Stream.Write("{}\n"u8);
            await file.CommitAsync();
        }

        Assert.Equal([name], dir.FileNames());
        Assert.Equal("{}\n", await File.ReadAllTextAsync(final));
    }

    [Fact]
    public void Stem_CutsAtACharacterBoundary_WithinTheRoomLeft()
    {
        var name = "a" + string.Concat(Enumerable.Repeat("😀", 80));
        var stem = AtomicFile.Stem(name);

        Assert.True(Encoding.UTF8.GetByteCount(stem) <= 255 - 38);
        Assert.True(Encoding.UTF8.GetByteCount(stem) > 255 - 38 - 4);
        Assert.StartsWith(stem, name, StringComparison.Ordinal);
        Assert.False(char.IsHighSurrogate(stem[^1]));
        Assert.Equal("kept.jsonl", AtomicFile.Stem("kept.jsonl"));
    }

    /// <summary>A move to a backup name that copies the file, then fails to remove the original (EPERM in a sticky directory).</summary>
    private sealed class CopyingMoveThatFails(IFileSystem inner, bool removeOriginal = false) : IFileSystem
    {
        public Stream OpenRead(string path) => inner.OpenRead(path);

        public Stream CreateNew(string path) => inner.CreateNew(path);

        public void FlushToDisk(Stream stream) => inner.FlushToDisk(stream);

        public bool Exists(string path) => inner.Exists(path);

        public void Move(string source, string destination, bool overwrite)
        {
            if (!destination.EndsWith(".old", StringComparison.Ordinal))
            {
                inner.Move(source, destination, overwrite);
                return;
            }

            File.Copy(source, destination);
            if (removeOriginal)
            {
                File.Delete(source);
            }

            throw new UnauthorizedAccessException($"Access to the path '{source}' is denied.");
        }

        public void Delete(string path) => inner.Delete(path);

        public void FlushDirectory(string directory) => inner.FlushDirectory(directory);
    }
}
