using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;
using RowEntry = ConsentFilter.Consent.ExternalSnapshotBuilder.RowEntry;

namespace ConsentFilter.Consent;

/// <summary>
/// Compiles a consent CSV file into a snapshot in memory, its rows read on every core: what a filter run does with the
/// consent CSV it is given, before its first record.
/// </summary>
/// <remarks>
/// The file is read once into memory (its SHA-256 is of those bytes), cut into chunks of whole lines, each chunk read by
/// <see cref="ConsentCsvChunkParser"/> on its own core into hashed row entries, each chunk sorted, and the sorted chunks
/// merged by the bounded-memory build's merge (<see cref="ExternalSnapshotBuilder.CompileSortedRuns"/>): the same
/// users, merge rules, conflicts and as-of time as loading the CSV and compiling it. A file this path does not read
/// (a quoted field spanning lines or a quoted header, a lone CR, invalid UTF-8, compression, any row or header the sequential reader must judge, which
/// includes every invalid one) gives null, and the caller loads it with the sequential reader, which reports its
/// errors with their lines. Ids are grouped by their 128-bit keyed hash: two different ids with the same 128 bits
/// (probability about n²/2¹²⁹) would merge as one user, as in the bounded-memory build.
/// </remarks>
internal static class ConsentCsvParallelCompiler
{
    /// <summary>The smallest chunk worth a core of its own.</summary>
    private const int MinChunkBytes = 1 << 16;

    /// <summary>Chunks per core: uneven chunks (long rows, blank lines) still keep every core busy.</summary>
    private const int ChunksPerCore = 4;

    internal static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    /// <summary>The snapshot compiled from the consent CSV at <paramref name="path"/>, or null when the sequential reader must read it.</summary>
    /// <param name="path">The consent CSV.</param>
    /// <param name="purposes">The purposes to hold.</param>
    /// <param name="maxBytes">Larger files are left to the caller (compiled through disk in bounded memory).</param>
    /// <param name="minChunkBytes">The smallest chunk handed to a core (tests cut small files into many chunks).</param>
    internal static CompiledSnapshot? TryCompile(string path, IReadOnlyList<string> purposes, long maxBytes, int minChunkBytes = MinChunkBytes)
    {
        if (purposes.Count is 0 or > CompiledSnapshotFormat.MaxPurposes || ReadRegularFile(path, maxBytes) is not { } file)
        {
            return null;
        }

        ReadOnlySpan<byte> text = file;
        if (text.StartsWith(Bom))
        {
            // The sequential reader drops the byte order mark as it decodes; the SHA-256 still covers it.
            text = text[Bom.Length..];
        }

        if (!Utf8.IsValid(text) || HasLoneCarriageReturn(text) || Header(ref text, path, purposes) is not { } columns)
        {
            return null;
        }

        var dataStart = file.Length - text.Length;
        var chunks = Chunks(file, dataStart, minChunkBytes);
        var seed = CompiledSnapshotBuilder.NewSeed();
        var parsers = new ConsentCsvChunkParser[chunks.Length];
        var entries = new RowEntry[chunks.Length][];
        var parsed = new bool[chunks.Length];
        Parallel.For(0, chunks.Length, c =>
        {
            var chunk = file.AsSpan(chunks[c].Start, chunks[c].Length);
            parsers[c] = new ConsentCsvChunkParser(columns, purposes.Count, seed);
            entries[c] = new RowEntry[chunk.Count((byte)'\n') + 1];
            // Input positions by chunk, then row: a user's rows merge in file order.
            parsed[c] = parsers[c].TryParse(chunk, entries[c], (long)c << 40);
        });

        if (parsed.Contains(false))
        {
            return null;
        }

        var (regions, regionMaps) = MergeRegions(parsers);
        var runs = new ReadOnlyMemory<RowEntry>[chunks.Length];
        Parallel.For(0, chunks.Length, c =>
        {
            var rows = entries[c].AsSpan(0, parsers[c].Rows);
            var map = regionMaps[c];
            foreach (ref var row in rows)
            {
                row.Region = map[row.Region];
            }

            ExternalSnapshotBuilder.Sort(rows);
            runs[c] = entries[c].AsMemory(0, rows.Length);
        });

        DateTimeOffset? newest = null;
        long dataRows = 0;
        foreach (var parser in parsers)
        {
            dataRows += parser.Rows;
            // The first of equal instants, as the sequential reader keeps it.
            if (parser.Newest is { } ts && (newest is null || ts > newest))
            {
                newest = ts;
            }
        }

        var source = new SnapshotInfo(path, Convert.ToHexStringLower(SHA256.HashData(file)), 0, dataRows, 0, newest);
        try
        {
            return ExternalSnapshotBuilder.CompileSortedRuns(runs, regions, purposes, seed, source);
        }
        catch (CompiledSnapshotBuilder.RegionSetOverflowException)
        {
            // Too many home-region sets for the format: the caller searches the loaded form instead.
            return null;
        }
    }

    /// <summary>The whole file, or null when it is not a regular file (a pipe cannot be read twice), is larger than <paramref name="maxBytes"/> or unreadable.</summary>
    /// <remarks>An unreadable file is the sequential reader's to report, with its message.</remarks>
    private static byte[]? ReadRegularFile(string path, long maxBytes)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            if (!stream.CanSeek || stream.Length > Math.Min(maxBytes, Array.MaxLength))
            {
                return null;
            }

            // Uninitialized: the read writes every byte, and zeroing a large array first costs as much as reading it.
            var bytes = GC.AllocateUninitializedArray<byte>((int)stream.Length);
            var read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            Span<byte> probe = stackalloc byte[1];
            // A file that changed size while read is left to the sequential reader, which reads it as one stream.
            if (read != bytes.Length || stream.Read(probe) != 0
                || IO.Compression.Detect(bytes) != IO.CompressionFormat.None || IO.Compression.FromName(path) != IO.CompressionFormat.None)
            {
                return null;
            }

            return bytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Whether a CR stands anywhere but before an LF (the sequential reader ends a row there; this path does not).</summary>
    internal static bool HasLoneCarriageReturn(ReadOnlySpan<byte> text)
    {
        for (var at = text.IndexOf((byte)'\r'); at >= 0; at = text.IndexOf((byte)'\r'))
        {
            if (at + 1 >= text.Length || text[at + 1] != (byte)'\n')
            {
                return true;
            }

            text = text[(at + 2)..];
        }

        return false;
    }

    /// <summary>The header's columns (the first non-blank line), advancing <paramref name="text"/> past it; null when the sequential reader must judge it.</summary>
    internal static ConsentCsvLoader.Columns? Header(ref ReadOnlySpan<byte> text, string path, IReadOnlyList<string> purposes)
    {
        var lineNumber = 0;
        while (!text.IsEmpty)
        {
            lineNumber++;
            var line = ConsentCsvChunkParser.NextLine(ref text);
            if (line.IsEmpty)
            {
                continue;
            }

            if (line.Contains((byte)'"'))
            {
                // A quoted header is the sequential reader's (it is one line in a million).
                return null;
            }

            var fields = Encoding.UTF8.GetString(line).Split(',');
            try
            {
                return ConsentCsvLoader.Columns.FromHeader(new Internal.CsvRows.Row(lineNumber, fields), path, purposes);
            }
            catch (DataFileException)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>Cuts the data rows into chunks of whole lines, several per core.</summary>
    private static (int Start, int Length)[] Chunks(byte[] file, long dataStart, int minChunkBytes)
    {
        var start = (int)dataStart;
        var length = file.Length - start;
        var count = Math.Max(1, Math.Min(Environment.ProcessorCount * ChunksPerCore, length / minChunkBytes));
        var chunks = new List<(int Start, int Length)>(count);
        for (var c = 1; c <= count && start < file.Length; c++)
        {
            var end = c == count ? file.Length : (int)(dataStart + ((long)length * c / count));
            if (end < start)
            {
                continue;
            }

            // Each chunk ends just after a line feed, or at the end of the file.
            var newline = file.AsSpan(end).IndexOf((byte)'\n');
            end = newline < 0 ? file.Length : end + newline + 1;
            chunks.Add((start, end - start));
            start = end;
        }

        return [.. chunks];
    }

    /// <summary>One region list for every chunk and, per chunk, its region ids mapped into it.</summary>
    private static (List<string?> Regions, uint[][] Maps) MergeRegions(ConsentCsvChunkParser[] parsers)
    {
        var regions = new List<string?> { null };
        var ids = new Dictionary<string, uint>(StringComparer.Ordinal);
        var maps = new uint[parsers.Length][];
        for (var c = 0; c < parsers.Length; c++)
        {
            var local = parsers[c].Regions;
            var map = maps[c] = new uint[local.Count];
            for (var i = 1; i < local.Count; i++)
            {
                var region = local[i]!;
                if (!ids.TryGetValue(region, out var id))
                {
                    id = (uint)regions.Count;
                    regions.Add(region);
                    ids.Add(region, id);
                }

                map[i] = id;
            }
        }

        return (regions, maps);
    }
}
