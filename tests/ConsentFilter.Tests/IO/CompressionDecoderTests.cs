using System.IO.Compression;
using System.IO.Hashing;
using System.Text;
using ConsentFilter.IO;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.IO;

/// <summary>The gzip and zstd decoders on their own: every header form, every read size, every cut.</summary>
public sealed class CompressionDecoderTests
{
    private static readonly byte[] s_text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 300).Select(i => $"{{\"id\":{i},\"user_id\":\"u{i % 7}\"}}\n")));

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public void Gzip_EveryHeaderFieldAndShortReads_DecodesEveryMember(int maxChunk)
    {
        // Member 1 has FEXTRA, FNAME, FCOMMENT and FHCRC; member 2 is the runtime's plain header.
        byte[] file = [.. HandMadeMember(s_text, extra: [1, 2, 3], name: "a.jsonl", comment: "c", headerCrc: true), .. CompressionTests.Gzip("tail\n")];

        using var stream = Compression.OpenRead(new ChunkedStream(file, seed: maxChunk, maxChunk), "x");

        Assert.Equal([.. s_text, .. "tail\n"u8], ReadAll(stream, maxChunk));
        Assert.True(((DecompressingStream)stream).Checksummed);
    }

    [Fact]
    public void Gzip_BadHeaderCrc_Fails()
    {
        var member = HandMadeMember(s_text, extra: null, name: "a", comment: null, headerCrc: true);
        member[12] ^= 1; // the name's first byte, covered by the header CRC

        using var stream = Compression.OpenRead(new MemoryStream(member), "x.gz");

        Assert.Contains("header CRC", Assert.Throws<InvalidDataException>(() => ReadAll(stream, 4096)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(4096)]
    public void Zstd_SeveralFramesAndASkippableFrameAndShortReads_DecodesEveryFrame(int maxChunk)
    {
        byte[] skippable = [0x5A, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 9, 9, 9];
        byte[] file = [.. skippable, .. CompressionTests.Zstd(Encoding.UTF8.GetString(s_text), checksum: true), .. skippable, .. CompressionTests.Zstd("tail\n", checksum: true)];

        using var stream = Compression.OpenRead(new ChunkedStream(file, seed: maxChunk, maxChunk), "x.zst");

        Assert.Equal([.. s_text, .. "tail\n"u8], ReadAll(stream, maxChunk));
        Assert.True(((DecompressingStream)stream).Checksummed);
    }

    [Fact]
    public void Zstd_OneFrameWithoutChecksum_IsNotChecksummed()
    {
        byte[] file = [.. CompressionTests.Zstd("a\n", checksum: true), .. CompressionTests.Zstd("b\n", checksum: false)];

        using var stream = Compression.OpenRead(new MemoryStream(file), "x");

        Assert.Equal("a\nb\n"u8.ToArray(), ReadAll(stream, 4096));
        Assert.False(((DecompressingStream)stream).Checksummed);
    }

    [Theory]
    [InlineData(".gz")]
    [InlineData(".zst")]
    public void Decode_CutAtEveryLength_Fails(string extension)
    {
        var text = Encoding.UTF8.GetString(s_text.AsSpan(0, 600));
        byte[] file = extension == ".gz" ? [.. CompressionTests.Gzip(text), .. CompressionTests.Gzip("x\n")] : [.. CompressionTests.Zstd(text, checksum: true), .. CompressionTests.Zstd("x\n", checksum: false)];
        var boundary = extension == ".gz" ? CompressionTests.Gzip(text).Length : CompressionTests.Zstd(text, checksum: true).Length;

        for (var length = 0; length < file.Length; length++)
        {
            if (length == boundary)
            {
                continue; // a whole first member or frame is a valid file
            }

            var cut = file[..length];
            var error = Record.Exception(() =>
            {
                using var stream = Compression.OpenRead(new MemoryStream(cut), "cut" + extension);
                ReadAll(stream, 4096);
            });

            Assert.True(error is InvalidDataException, $"cut at {length} of {file.Length}: {error?.GetType().Name ?? "no error"}");
            Assert.Contains("cut" + extension, error!.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    [InlineData("plain")]
    public void OpenRead_StreamThatCannotSeek_LosesNoPeekedByte(string format)
    {
        var text = Encoding.UTF8.GetString(s_text);
        var file = format switch
        {
            "gzip" => CompressionTests.Gzip(text),
            "zstd" => CompressionTests.Zstd(text, checksum: false),
            _ => s_text,
        };

        using var stream = Compression.OpenRead(new ChunkedStream(file, seed: 1, maxChunk: 3), "-");

        Assert.Equal(s_text, ReadAll(stream, 100));
    }

    private static byte[] ReadAll(Stream stream, int bufferSize)
    {
        var copy = new MemoryStream();
        var buffer = new byte[bufferSize];
        int n;
        while ((n = stream.ReadAsync(buffer).AsTask().GetAwaiter().GetResult()) > 0)
        {
            copy.Write(buffer, 0, n);
        }

        return copy.ToArray();
    }

    /// <summary>A gzip member built field by field (RFC 1952), with the optional header fields the runtime never writes.</summary>
    private static byte[] HandMadeMember(byte[] data, byte[]? extra, string? name, string? comment, bool headerCrc)
    {
        var header = new List<byte> { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255 };
        byte flags = 0;
        if (extra is not null)
        {
            flags |= 0x04;
            header.AddRange([(byte)extra.Length, (byte)(extra.Length >> 8), .. extra]);
        }

        if (name is not null)
        {
            flags |= 0x08;
            header.AddRange([.. Encoding.Latin1.GetBytes(name), 0]);
        }

        if (comment is not null)
        {
            flags |= 0x10;
            header.AddRange([.. Encoding.Latin1.GetBytes(comment), 0]);
        }

        if (headerCrc)
        {
            flags |= 0x02;
        }

        header[3] = flags;
        if (headerCrc)
        {
            var crc = Crc32.HashToUInt32([.. header]);
            header.AddRange([(byte)crc, (byte)(crc >> 8)]);
        }

        using var deflated = new MemoryStream();
        using (var deflate = new DeflateStream(deflated, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(data);
        }

        var dataCrc = Crc32.HashToUInt32(data);
        return [.. header, .. deflated.ToArray(), .. BitConverter.GetBytes(dataCrc), .. BitConverter.GetBytes((uint)data.Length)];
    }
}
