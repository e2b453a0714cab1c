using System.Buffers.Binary;

namespace ConsentFilter.Consent;

/// <summary>The on-disk layout of a compiled snapshot (versions 1 and 2), in one place. See docs/snapshot-format.md.</summary>
/// <remarks>
/// Little-endian. A 128-byte header, a metadata block (purposes, region sets), then 16-byte entries sorted by id hash,
/// aligned to 16 bytes. Entry: 64-bit hash high part, 32 more hash bits, 32-bit payload. Payload bits 0–13: consent
/// per purpose (2 bits each, up to 7 purposes), bit 14: gpc, bit 15: minor, bits 16–31: region-set index.
/// Version 2 is version 1 plus each user's row-merge state after the entries (what a delta build applies changes to),
/// described by a metadata section; a file without that state is written as version 1, byte for byte as before.
/// </remarks>
internal static class CompiledSnapshotFormat
{
    internal const uint Version = 1;

    /// <summary>The version of a file that also holds each user's row-merge state (<see cref="SectionMergeState"/>).</summary>
    internal const uint MergeStateVersion = 2;
    internal const int HeaderSize = 128;
    internal const int EntrySize = 16;
    internal const int MaxPurposes = 7;
    internal const int MaxRegionSets = 1 << 16;

    internal const int OffsetVersion = 8;
    internal const int OffsetHeaderSize = 12;
    internal const int OffsetUsers = 16;
    internal const int OffsetRows = 24;
    internal const int OffsetConflicts = 32;
    internal const int OffsetCollisions = 40;
    internal const int OffsetAsOf = 48;
    internal const int OffsetSeed = 56;
    internal const int OffsetSourceSha256 = 64;
    internal const int OffsetMetaOffset = 96;
    internal const int OffsetMetaLength = 104;
    internal const int OffsetPurposeCount = 108;
    internal const int OffsetEntriesOffset = 112;
    internal const int OffsetChecksum = 120;

    internal const long NoAsOf = long.MinValue;

    /// <summary>Metadata section tag: the key-value bucket and stream sequence the file reflects (see <see cref="SnapshotBucketSource"/>).</summary>
    /// <remarks>Sections follow the region sets as <c>u16 tag, u32 length, payload</c>; readers skip tags they do not know.</remarks>
    internal const ushort SectionBucketSource = 1;

    /// <summary>Metadata section tag: what the snapshot was read from when that is not a file (a database, without its password).</summary>
    internal const ushort SectionOrigin = 2;

    /// <summary>Metadata section tag: the row-merge state stored after the entries (version 2 only; see <see cref="UserMergeState"/>).</summary>
    /// <remarks>Payload: <c>u32 record size, i64 records, i64 newest updated_at (UTC ticks, or long.MinValue), i32 region lists, each as u16 count + codes</c>.</remarks>
    internal const ushort SectionMergeState = 3;

    /// <summary>"CFSNAP", NUL, SUB: not text, so a CSV is never mistaken for a snapshot.</summary>
    internal static ReadOnlySpan<byte> Magic => "CFSNAP\0\u001A"u8;

    internal static uint Payload(PurposeStates states, int purposeCount, bool gpc, bool minor, int regionSet)
    {
        uint payload = 0;
        for (var p = 0; p < purposeCount; p++)
        {
            payload |= (uint)states[p] << (p * 2);
        }

        if (gpc)
        {
            payload |= 1u << 14;
        }

        if (minor)
        {
            payload |= 1u << 15;
        }

        return payload | ((uint)regionSet << 16);
    }

    internal static PurposeStates States(uint payload, int purposeCount)
    {
        var states = PurposeStates.AllUnset;
        for (var p = 0; p < purposeCount; p++)
        {
            states = states.With(p, (ConsentState)((payload >> (p * 2)) & 0b11));
        }

        return states;
    }

    internal static bool Gpc(uint payload) => (payload & (1u << 14)) != 0;

    internal static bool Minor(uint payload) => (payload & (1u << 15)) != 0;

    internal static int RegionSet(uint payload) => (int)(payload >> 16);

    internal static (ulong High, uint Low) Hash(ReadOnlySpan<byte> userId, ulong seed)
    {
        var hash = System.IO.Hashing.XxHash128.HashToUInt128(userId, (long)seed);
        return ((ulong)(hash >> 64), (uint)((ulong)hash >> 32));
    }

    /// <summary>The origin section: <c>u16 tag, u32 length</c>, then the description in UTF-8.</summary>
    internal static byte[] OriginSection(string origin)
    {
        var text = System.Text.Encoding.UTF8.GetBytes(origin);
        var section = new byte[6 + text.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(section, SectionOrigin);
        BinaryPrimitives.WriteInt32LittleEndian(section.AsSpan(2), text.Length);
        text.CopyTo(section.AsSpan(6));
        return section;
    }

    internal static void WriteEntry(Span<byte> destination, ulong high, uint low, uint payload)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, high);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], low);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], payload);
    }
}
