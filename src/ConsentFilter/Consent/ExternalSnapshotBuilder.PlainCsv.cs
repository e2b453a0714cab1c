using System.Security.Cryptography;
using System.Text.Unicode;

namespace ConsentFilter.Consent;

/// <summary>The bounded-memory build of a plain consent CSV file, its rows read on every core.</summary>
internal sealed partial class ExternalSnapshotBuilder
{
    /// <summary>Bytes of CSV one core reads at a time: a few blocks in flight stay far inside the budget's reserve.</summary>
    private const int PlainBlockBytes = 1 << 20;

    /// <summary>
    /// Builds <paramref name="path"/> from the consent CSV <paramref name="csv"/> with its rows read on every core
    /// (<see cref="ConsentCsvChunkParser"/>, one block of whole lines per core at a time, appended in file order), or
    /// returns null — nothing published — when the file is not plain (a quoted field spanning lines, a lone CR, invalid UTF-8, compression, a
    /// line longer than a block, any row or header the sequential reader must judge, which includes every invalid one):
    /// the caller then rewinds and builds from the sequential reader, which reports errors with their lines.
    /// </summary>
    /// <remarks>The same rows in the same order as the sequential reader gives, so the file is byte for byte the same for the same hash key.</remarks>
    /// <param name="csv">The CSV, seekable (the caller rewinds it when this declines).</param>
    /// <param name="displayName">The file named in the snapshot and in errors.</param>
    /// <param name="purposes">The purposes to hold.</param>
    /// <param name="path">The compiled snapshot to write.</param>
    /// <param name="options">Memory budget, temporary directory, as-of time, base snapshot.</param>
    /// <param name="cancellationToken">Stops the build; nothing is published and the temporary files are removed.</param>
    internal static CompiledSnapshotSummary? TryBuildFromPlainCsv(Stream csv, string displayName, IReadOnlyList<string> purposes, string path,
        SnapshotBuildOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(csv);
        if (!csv.CanSeek || IO.Compression.FromName(displayName) != IO.CompressionFormat.None)
        {
            return null;
        }

        return BuildWith(displayName, purposes, path, options, cancellationToken, (builder, full) =>
        {
            try
            {
                return builder.RunPlain(csv, full, options.AsOf, options.PlainBlockBytes ?? PlainBlockBytes);
            }
            finally
            {
                builder.WaitForSpill();
            }
        });
    }

    private CompiledSnapshotSummary? RunPlain(Stream csv, string path, DateTimeOffset? asOf, int blockBytes)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var reader = new BlockReader(csv, sha256, blockBytes);
        var cores = Math.Max(1, Environment.ProcessorCount);
        var blocks = new byte[cores * 2][];
        var lengths = new int[blocks.Length];
        var entries = new RowEntry[blocks.Length][];
        var parsers = new ConsentCsvChunkParser[blocks.Length];
        var parsed = new bool[blocks.Length];
        for (var b = 0; b < blocks.Length; b++)
        {
            blocks[b] = new byte[blockBytes];
            entries[b] = [];
        }

        // The header comes from the first block: the byte order mark dropped, as the sequential reader drops it.
        lengths[0] = reader.Fill(blocks[0]);
        if (lengths[0] < 0 || IO.Compression.Detect(blocks[0].AsSpan(0, lengths[0])) != IO.CompressionFormat.None)
        {
            return null;
        }

        ReadOnlySpan<byte> rest = blocks[0].AsSpan(0, lengths[0]);
        rest = rest[(rest.StartsWith(ConsentCsvParallelCompiler.Bom) ? ConsentCsvParallelCompiler.Bom.Length : 0)..];
        if (!IsPlain(rest) || ConsentCsvParallelCompiler.Header(ref rest, _displayName, _purposes) is not { } columns)
        {
            return null;
        }

        var offsets = new int[blocks.Length];
        offsets[0] = lengths[0] - rest.Length;
        var count = 1;
        long rows = 0;
        DateTimeOffset? newest = null;
        while (true)
        {
            while (count < blocks.Length && !reader.AtEnd)
            {
                var length = reader.Fill(blocks[count]);
                if (length < 0)
                {
                    // A line longer than a block: the sequential reader takes it (and its limit).
                    return null;
                }

                (lengths[count], offsets[count]) = (length, 0);
                count++;
            }

            Parallel.For(0, count, new ParallelOptions { CancellationToken = _cancellationToken }, b =>
            {
                var text = blocks[b].AsSpan(offsets[b], lengths[b] - offsets[b]);
                parsed[b] = false;
                if (!IsPlain(text))
                {
                    return;
                }

                var capacity = Math.Min(text.Count((byte)'\n') + 1, (text.Length / (columns.Count + 1)) + 1);
                if (entries[b].Length < capacity)
                {
                    entries[b] = new RowEntry[capacity];
                }

                parsers[b] = new ConsentCsvChunkParser(columns, _purposes.Count, _seed);
                parsed[b] = parsers[b].TryParse(text, entries[b], 0);
            });

            if (rows == 0 && parsed.AsSpan(0, count).IndexOf(false) < 0)
            {
                // The first blocks tell the file's bytes a row: size the first run buffer for the whole file at once.
                var sample = 0L;
                var sampleRows = 0L;
                for (var b = 0; b < count; b++)
                {
                    (sample, sampleRows) = (sample + lengths[b] - offsets[b], sampleRows + parsers[b].Rows);
                }

                if (sampleRows > 0)
                {
                    Reserve((long)(csv.Length * (double)sampleRows / sample * 1.05) + 1024);
                }
            }

            for (var b = 0; b < count; b++)
            {
                if (!parsed[b])
                {
                    return null;
                }

                var parser = parsers[b];
                var map = new uint[parser.Regions.Count];
                for (var r = 1; r < map.Length; r++)
                {
                    map[r] = RegionId(parser.Regions[r]);
                }

                foreach (var entry in entries[b].AsSpan(0, parser.Rows))
                {
                    var row = entry;
                    row.Region = map[row.Region];
                    Append(row);
                }

                rows += parser.Rows;
                if (parser.Newest is { } ts && (newest is null || ts > newest))
                {
                    newest = ts;
                }
            }

            if (reader.AtEnd)
            {
                break;
            }

            count = 0;
        }

        return Finish(rows, newest, Convert.ToHexStringLower(sha256.GetHashAndReset()), null, path, asOf);
    }

    /// <summary>What only the sequential reader reads: invalid UTF-8 or a CR that does not end a line (quoted fields spanning lines are found by the parser).</summary>
    private static bool IsPlain(ReadOnlySpan<byte> text) =>
        Utf8.IsValid(text) && !ConsentCsvParallelCompiler.HasLoneCarriageReturn(text);

    /// <summary>Reads a stream into blocks that end after a line feed (or at the end), hashing every byte once.</summary>
    private sealed class BlockReader(Stream stream, IncrementalHash hash, int blockBytes)
    {
        private readonly byte[] _carry = new byte[blockBytes];
        private int _carried;
        private bool _ended;

        /// <summary>Whether every byte has been handed out.</summary>
        internal bool AtEnd => _ended && _carried == 0;

        /// <summary>Fills <paramref name="block"/>; its length (0 at the end), or -1 when a line does not fit in a block.</summary>
        internal int Fill(byte[] block)
        {
            _carry.AsSpan(0, _carried).CopyTo(block);
            var length = _carried;
            _carried = 0;
            while (!_ended && length < block.Length)
            {
                var read = stream.Read(block, length, block.Length - length);
                if (read == 0)
                {
                    _ended = true;
                    break;
                }

                hash.AppendData(block, length, read);
                length += read;
            }

            if (_ended)
            {
                return length;
            }

            var lastNewline = block.AsSpan(0, length).LastIndexOf((byte)'\n');
            if (lastNewline < 0)
            {
                return -1;
            }

            // The partial line after the last line feed starts the next block.
            _carried = length - (lastNewline + 1);
            block.AsSpan(lastNewline + 1, _carried).CopyTo(_carry);
            return lastNewline + 1;
        }
    }
}
