using System.Buffers.Binary;
using ZstdSharp.Unsafe;

namespace ConsentFilter.IO;

/// <summary>
/// Reads Zstandard (RFC 8878) to the end of the file: every frame is decoded and its content checksum, when the frame has
/// one, verified; after each frame the file must end or another frame (or a skippable frame) must start.
/// </summary>
/// <remarks>
/// Drives ZstdSharp's streaming decoder directly rather than through its <c>DecompressionStream</c>, to see where each
/// frame starts (so bytes after the last frame fail with their offset, and the report can say whether every frame had a
/// checksum). The decoder verifies checksums unless told not to, which this class never does.
/// </remarks>
internal sealed unsafe class ZstdReadStream : DecompressingStream
{
    /// <summary>The magic number of a frame, little-endian (bytes <c>28 b5 2f fd</c>).</summary>
    internal const uint FrameMagic = 0xFD2FB528;

    /// <summary>Skippable frames have the magic numbers <c>0x184D2A50</c> to <c>0x184D2A5F</c>.</summary>
    internal const uint SkippableMagic = 0x184D2A50;

    /// <summary>The bits that <see cref="SkippableMagic"/> fixes.</summary>
    internal const uint SkippableMask = 0xFFFFFFF0;

    private const byte ContentChecksumFlag = 0x04;

    private ZSTD_DCtx_s* _context;
    private bool _atFrameStart = true;
    private bool _mayHoldOutput;
    private long _frameOffset;
    private int _frames;
    private int _framesWithChecksum;

    internal ZstdReadStream(Stream source, string path)
        : base(source, path)
    {
        _context = Methods.ZSTD_createDCtx();
        if (_context == null)
        {
            throw new OutOfMemoryException("cannot create a zstd decompression context");
        }
    }

    ~ZstdReadStream() => Dispose(false);

    internal override CompressionFormat Format => CompressionFormat.Zstd;

    /// <summary>Whether every data frame has a content checksum (verified at its end); skippable frames hold no data.</summary>
    internal override bool Checksummed => _frames > 0 && _framesWithChecksum == _frames;

    protected override int Decode(byte[] buffer, int offset, int count)
    {
        while (true)
        {
            if (_atFrameStart && !StartFrame())
            {
                return 0;
            }

            if (Pos == End && !_mayHoldOutput && !FillMore())
            {
                throw Truncated($"inside zstd frame {_frames} (which starts at offset {_frameOffset})");
            }

            nuint result;
            var output = new ZSTD_outBuffer_s { size = (nuint)count };
            var input = new ZSTD_inBuffer_s { size = (nuint)End, pos = (nuint)Pos };
            fixed (byte* src = Window)
            fixed (byte* dst = &buffer[offset])
            {
                input.src = src;
                output.dst = dst;
                result = Methods.ZSTD_decompressStream(_context, &output, &input);
            }

            var before = Offset;
            Pos = (int)input.pos;
            if (Methods.ZSTD_isError(result))
            {
                throw Corrupt(before, $"frame {_frames} (which starts at offset {_frameOffset}): {Methods.ZSTD_getErrorName(result)}");
            }

            // 0: the frame is decoded, its checksum (if any) verified, and all of it returned.
            _atFrameStart = result == 0;
            _mayHoldOutput = result != 0 && output.pos == output.size;
            if (output.pos > 0)
            {
                return (int)output.pos;
            }
        }
    }

    /// <summary>At a frame boundary: false at the end of the file, otherwise checks that a frame starts here.</summary>
    private bool StartFrame()
    {
        _frameOffset = Offset;
        EnsureAvailable(5);
        var available = End - Pos;
        if (available == 0 && (_frames > 0 || _frameOffset > 0))
        {
            return false;
        }

        var magic = available >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(Window.AsSpan(Pos)) : 0;
        if (available >= 4 && (magic & SkippableMask) == SkippableMagic)
        {
            _atFrameStart = false;
            return true;
        }

        if (available >= 5 && magic == FrameMagic)
        {
            _frames++;
            if ((Window[Pos + 4] & ContentChecksumFlag) != 0)
            {
                _framesWithChecksum++;
            }

            _atFrameStart = false;
            return true;
        }

        var what = available < 4 ? "the file ends before" : "the bytes are not";
        var after = _frames == 0 && _frameOffset == 0 ? "at the start" : $"after zstd frame {_frames}";
        throw new InvalidDataException(
            $"{Path}: bytes {after} at offset {_frameOffset} are not another zstd frame ({what} a frame header, 28 b5 2f fd); a zstd input must end after its last frame");
    }

    protected override void ReleaseDecoder()
    {
        if (_context != null)
        {
            Methods.ZSTD_freeDCtx(_context);
            _context = null;
        }
    }
}
