using ConsentFilter.IO;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.IO;

/// <summary>New files ask for early writeback as they grow; the bytes, seeking and the final flush are unchanged.</summary>
public sealed class EarlyWritebackStreamTests
{
    [Fact]
    public async Task CreateNew_LargeFile_WritesEveryByte_SeeksAndFlushes()
    {
        using var dir = new TempDirectory();
        var path = dir.File("big.bin");
        var fileSystem = PhysicalFileSystem.Instance;
        var expected = new byte[(int)(EarlyWritebackStream.Interval * 2) + 12345];
        new Random(3).NextBytes(expected);

        var stream = fileSystem.CreateNew(path);
        await using (stream)
        {
            Assert.Equal(OperatingSystem.IsLinux(), stream is EarlyWritebackStream);
            await stream.WriteAsync(new byte[16]);
            for (var offset = 16; offset < expected.Length; offset += 1 << 20)
            {
                var count = Math.Min(1 << 20, expected.Length - offset);
                await stream.WriteAsync(expected.AsMemory(offset, count));
            }

            // As the snapshot builder does: the header goes last, at the start.
            stream.Position = 0;
            stream.Write(expected.AsSpan(0, 16));
            await stream.FlushAsync();
            fileSystem.FlushToDisk(stream);
        }

        Assert.Equal(expected, await File.ReadAllBytesAsync(path));
    }
}
