using System.Buffers.Binary;
using System.IO.Hashing;
using ICSharpCode.SharpZipLib;
using ICSharpCode.SharpZipLib.Zip.Compression;

namespace ConsentFilter.IO;

/// <summary>
/// Reads gzip (RFC 1952) to the end of the file: every member's header, deflate data, CRC-32 and size are checked, and
/// after each member the file must end or another member must start.
/// </summary>
/// <remarks>
/// .NET's <c>GZipStream</c> returns partial data for a cut file, and SharpZipLib's <c>GZipInputStream</c> stops quietly at
/// bytes after a member that are not another member (garbage, zero padding). This decoder parses the members itself and
/// uses SharpZipLib's raw <see cref="Inflater"/>, which tells how many input bytes a member left unused.
/// </remarks>
internal sealed class GzipReadStream(Stream source, string path) : DecompressingStream(source, path)
{
    private const byte FlagHeaderCrc = 0x02;
    private const byte FlagExtra = 0x04;
    private const byte FlagName = 0x08;
    private const byte FlagComment = 0x10;
    private const byte FlagReserved = 0xE0;

    private readonly Inflater _inflater = new(noHeader: true);
    private readonly Crc32 _crc = new();
    private State _state = State.MemberStart;
    private long _memberSize;
    private long _memberOffset;
    private int _members;

    private enum State
    {
        MemberStart,
        Body,
        End,
    }

    internal override CompressionFormat Format => CompressionFormat.Gzip;

    /// <summary>Every gzip member carries a CRC-32 of its data, checked at its end.</summary>
    internal override bool Checksummed => _members > 0;

    protected override int Decode(byte[] buffer, int offset, int count)
    {
        while (true)
        {
            switch (_state)
            {
                case State.End:
                    return 0;
                case State.MemberStart:
                    if (!EnsureAvailable(1))
                    {
                        if (_members == 0)
                        {
                            throw Truncated("before the first gzip member");
                        }

                        _state = State.End;
                        return 0;
                    }

                    StartMember();
                    break;
                default:
                    var n = Inflate(buffer, offset, count);
                    if (n > 0)
                    {
                        _crc.Append(buffer.AsSpan(offset, n));
                        _memberSize += n;
                        return n;
                    }

                    break;
            }
        }
    }

    private int Inflate(byte[] buffer, int offset, int count)
    {
        int n;
        try
        {
            n = _inflater.Inflate(buffer, offset, count);
        }
        catch (SharpZipBaseException e)
        {
            throw Corrupt(Offset - _inflater.RemainingInput, $"bad deflate data in member {_members + 1} ({e.Message})", e);
        }

        if (n > 0)
        {
            return n;
        }

        if (_inflater.IsFinished)
        {
            Pos = End - _inflater.RemainingInput;
            EndMember();
            return 0;
        }

        if (!_inflater.IsNeedingInput)
        {
            throw Corrupt(Offset, $"the deflate data of member {_members + 1} cannot be decoded");
        }

        Pos = End;
        if (!FillMore())
        {
            throw Truncated($"inside gzip member {_members + 1} (which starts at offset {_memberOffset})");
        }

        Feed();
        return 0;
    }

    /// <summary>Hands every undecoded byte to the inflater; it takes them all, and tells at the member's end how many it left.</summary>
    private void Feed()
    {
        if (End > Pos)
        {
            _inflater.SetInput(Window, Pos, End - Pos);
            Pos = End;
        }
    }

    private void StartMember()
    {
        _memberOffset = Offset;
        if (!EnsureAvailable(2) || Window[Pos] != 0x1f || Window[Pos + 1] != 0x8b)
        {
            var what = End - Pos < 2 ? "the file ends" : "the bytes are not";
            throw new InvalidDataException(
                $"{Path}: bytes after gzip member {_members} at offset {_memberOffset} are not another gzip member ({what} a gzip header, 1f 8b); a gzip input must end after its last member");
        }

        var header = new Crc32();
        var fixedPart = Header(header, 10);
        if (fixedPart[2] != 8)
        {
            throw Corrupt(_memberOffset + 2, $"member {_members + 1} uses compression method {fixedPart[2]}, not deflate (8)");
        }

        var flags = fixedPart[3];
        if ((flags & FlagReserved) != 0)
        {
            throw Corrupt(_memberOffset + 3, $"member {_members + 1} sets reserved header flags ({flags:x2})");
        }

        if ((flags & FlagExtra) != 0)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(Header(header, 2));
            Header(header, length);
        }

        if ((flags & FlagName) != 0)
        {
            SkipZeroTerminated(header);
        }

        if ((flags & FlagComment) != 0)
        {
            SkipZeroTerminated(header);
        }

        if ((flags & FlagHeaderCrc) != 0)
        {
            var expected = header.GetCurrentHashAsUInt32() & 0xFFFF;
            var stored = BinaryPrimitives.ReadUInt16LittleEndian(Header(header, 2));
            if (stored != expected)
            {
                throw Corrupt(Offset - 2, $"the header CRC of member {_members + 1} does not match");
            }
        }

        _inflater.Reset();
        _crc.Reset();
        _memberSize = 0;
        _state = State.Body;
        Feed();
    }

    /// <summary>The next <paramref name="count"/> header bytes (at most 65535, which the window holds), added to the header's CRC.</summary>
    private ReadOnlySpan<byte> Header(Crc32 header, int count)
    {
        if (!EnsureAvailable(count))
        {
            throw Truncated($"inside the header of gzip member {_members + 1} (which starts at offset {_memberOffset})");
        }

        var bytes = Window.AsSpan(Pos, count);
        header.Append(bytes);
        Pos += count;
        return bytes;
    }

    private void SkipZeroTerminated(Crc32 header)
    {
        while (Header(header, 1)[0] != 0)
        {
        }
    }

    private void EndMember()
    {
        if (!EnsureAvailable(8))
        {
            throw Truncated($"inside the trailer of gzip member {_members + 1} (which starts at offset {_memberOffset})");
        }

        var trailer = Window.AsSpan(Pos, 8);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        if (crc != _crc.GetCurrentHashAsUInt32())
        {
            throw Corrupt(Offset, $"the CRC-32 of member {_members + 1} does not match its data");
        }

        if (size != unchecked((uint)_memberSize))
        {
            throw Corrupt(Offset + 4, $"the size of member {_members + 1} does not match its data ({_memberSize} bytes, trailer says {size} mod 2^32)");
        }

        Pos += 8;
        _members++;
        _state = State.MemberStart;
    }
}
