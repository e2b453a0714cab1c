using System.Security.Cryptography;
using System.Text;
using ConsentFilter.Internal;
using ConsentFilter.Jurisdictions;

namespace ConsentFilter.Consent;

/// <summary>Reads a consent CSV (SPEC 2.2) and merges each user's rows.</summary>
internal static class ConsentCsvLoader
{
    internal static ConsentSnapshot LoadFile(string path, IReadOnlyList<string> purposes, DateTimeOffset? asOf)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            var head = new byte[IO.Compression.PeekLength];
            var peeked = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            IO.Compression.ThrowIfCompressed(head.AsSpan(0, peeked), path, "consent file");
            // The peeked bytes are put back in front rather than sought back to: a pipe or FIFO cannot seek.
            using var whole = new IO.PrefixedReadStream(head[..peeked], file);
            return Load(whole, path, purposes, asOf);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, 0, 0, $"cannot read consent file: {e.Message}", e);
        }
    }

    internal static ConsentSnapshot Load(Stream csv, string displayName, IReadOnlyList<string> purposes, DateTimeOffset? asOf)
    {
        if (purposes.Count is 0 or > PurposeStates.MaxPurposes)
        {
            throw new ArgumentException($"between 1 and {PurposeStates.MaxPurposes} purposes are required", nameof(purposes));
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var hashing = new HashingReadStream(csv, hash, leaveOpen: true);
        return FromRows(CsvRows.Read(hashing, displayName), displayName, purposes, asOf, () => Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>
    /// Builds a snapshot from a header row and data rows of text cells, whatever file they came from (CSV, Parquet): the
    /// one place where cells are validated and each user's rows are merged.
    /// </summary>
    /// <param name="rows">The header row first, then the data rows.</param>
    /// <param name="displayName">The file named in errors and in the snapshot's info.</param>
    /// <param name="purposes">The purposes to hold.</param>
    /// <param name="asOf">An explicit as-of time, or null for the newest <c>updated_at</c>.</param>
    /// <param name="sha256">The source's SHA-256, asked for after every row was read.</param>
    /// <param name="nameUserInErrors">Name the user in a row's error (a database row has no line a user can open).</param>
    internal static ConsentSnapshot FromRows(
        IEnumerable<CsvRows.Row> rows, string displayName, IReadOnlyList<string> purposes, DateTimeOffset? asOf, Func<string> sha256,
        bool nameUserInErrors = false)
    {
        if (purposes.Count is 0 or > PurposeStates.MaxPurposes)
        {
            throw new ArgumentException($"between 1 and {PurposeStates.MaxPurposes} purposes are required", nameof(purposes));
        }

        var accumulators = new Dictionary<byte[], UserAccumulator>(ByteArrayComparer.Instance);
        var utf8 = new UTF8Encoding(false, true);
        var parsed = new ParsedRows(displayName, purposes, nameUserInErrors);
        foreach (var row in parsed.Read(rows))
        {
            var key = utf8.GetBytes(row.UserId);
            if (!accumulators.TryGetValue(key, out var accumulator))
            {
                accumulator = new UserAccumulator();
                accumulators.Add(key, accumulator);
            }

            accumulator.Add(row.Values, row.UpdatedAt);
        }

        var rowCount = parsed.Rows;
        var newest = parsed.Newest;
        var users = new Dictionary<byte[], UserConsent>(accumulators.Count, ByteArrayComparer.Instance);
        long conflicts = 0;
        foreach (var (id, accumulator) in accumulators)
        {
            users.Add(id, accumulator.Resolve(purposes.Count, out var conflicted));
            if (conflicted)
            {
                conflicts++;
            }
        }

        var info = new SnapshotInfo(displayName, sha256(), users.Count, rowCount, conflicts, asOf ?? newest);
        return new ConsentSnapshot(users, [.. purposes], info);
    }

    /// <summary>
    /// Validates rows of text cells (the header row first) and yields each data row's values: the one place where cells
    /// are checked, whichever builder (in memory or external) merges them.
    /// </summary>
    internal sealed class ParsedRows(string displayName, IReadOnlyList<string> purposes, bool nameUserInErrors)
    {
        /// <summary>Data rows read so far.</summary>
        public long Rows { get; private set; }

        /// <summary>The newest <c>updated_at</c> read so far.</summary>
        public DateTimeOffset? Newest { get; private set; }

        public IEnumerable<ConsentRow> Read(IEnumerable<CsvRows.Row> rows)
        {
            Columns? columns = null;
            foreach (var row in rows)
            {
                if (columns is null)
                {
                    columns = Columns.FromHeader(row, displayName, purposes);
                    continue;
                }

                if (row.Fields.Length != columns.Count)
                {
                    throw new DataFileException(displayName, row.LineNumber, 0,
                        $"expected {columns.Count} fields as in the header but found {row.Fields.Length}");
                }

                Rows++;
                var parsed = Parse(columns, row);
                if (parsed.UpdatedAt is { } ts && (Newest is null || ts > Newest))
                {
                    Newest = ts;
                }

                yield return new ConsentRow(row.Fields[columns.UserId], parsed.Values, parsed.UpdatedAt);
            }

            if (columns is null)
            {
                throw new DataFileException(displayName, 1, 0, "missing header row (user_id and purpose columns are required)");
            }
        }

        private ParsedRow Parse(Columns columns, CsvRows.Row row)
        {
            if (!nameUserInErrors)
            {
                return columns.Parse(row, displayName, purposes.Count);
            }

            try
            {
                return columns.Parse(row, displayName, purposes.Count);
            }
            catch (DataFileException e) when (row.Fields[columns.UserId].Length > 0)
            {
                // A database row has no line a user can open: name the user whose row it is.
                throw new DataFileException(e.File, e.Line, e.Column, $"{e.Problem} in the row of user_id '{row.Fields[columns.UserId]}'", e.InnerException);
            }
        }
    }

    /// <summary>One validated data row.</summary>
    internal readonly record struct ConsentRow(string UserId, RowValues Values, DateTimeOffset? UpdatedAt);

    /// <summary>The relevant values of one row.</summary>
    internal readonly record struct RowValues(PurposeStates States, bool Gpc, bool Minor, string? Region);

    internal readonly record struct ParsedRow(RowValues Values, DateTimeOffset? UpdatedAt);

    /// <summary>Where each known column sits in the header.</summary>
    internal sealed class Columns
    {
        private Columns(int count) => Count = count;

        public int Count { get; }

        public int UserId { get; private init; } = -1;

        public int Region { get; private init; } = -1;

        public int Gpc { get; private init; } = -1;

        public int Minor { get; private init; } = -1;

        public int UpdatedAt { get; private init; } = -1;

        public int[] Purposes { get; private init; } = [];

        public static Columns FromHeader(CsvRows.Row header, string file, IReadOnlyList<string> purposes)
        {
            var byName = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < header.Fields.Length; i++)
            {
                var name = header.Fields[i].Trim().ToLowerInvariant();
                if (!byName.TryAdd(name, i))
                {
                    throw new DataFileException(file, header.LineNumber, i + 1, $"duplicate column '{name}'");
                }
            }

            int Find(string name) => byName.TryGetValue(name, out var index) ? index : -1;

            var userId = Find("user_id");
            if (userId < 0)
            {
                throw new DataFileException(file, header.LineNumber, 0, "missing required column 'user_id'"
                    + SeparatorHint.For(header.Fields, f => f.Any(n => n.Trim().Equals("user_id", StringComparison.OrdinalIgnoreCase)), "header", "consent CSVs"));
            }

            var purposeColumns = new int[purposes.Count];
            for (var p = 0; p < purposes.Count; p++)
            {
                purposeColumns[p] = Find(purposes[p].Trim().ToLowerInvariant());
                if (purposeColumns[p] < 0)
                {
                    throw new DataFileException(file, header.LineNumber, 0, $"missing purpose column '{purposes[p]}'");
                }
            }

            return new Columns(header.Fields.Length)
            {
                UserId = userId,
                Region = Find("region"),
                Gpc = Find("gpc"),
                Minor = Find("minor"),
                UpdatedAt = Find("updated_at"),
                Purposes = purposeColumns,
            };
        }

        public ParsedRow Parse(CsvRows.Row row, string file, int purposeCount)
        {
            var f = row.Fields;
            if (f[UserId].Length == 0)
            {
                throw new DataFileException(file, row.LineNumber, UserId + 1, "empty user_id");
            }

            var states = PurposeStates.AllUnset;
            for (var p = 0; p < purposeCount; p++)
            {
                var column = Purposes[p];
                if (!ConsentValues.TryParseState(f[column], out var state))
                {
                    throw new DataFileException(file, row.LineNumber, column + 1,
                        $"invalid consent value '{f[column]}' (expected granted/denied/unset or a synonym)");
                }

                states = states.With(p, state);
            }

            var gpc = ParseBoolean(Gpc, "gpc");
            var minor = ParseBoolean(Minor, "minor");

            DateTimeOffset? updatedAt = null;
            if (UpdatedAt >= 0 && !string.IsNullOrWhiteSpace(f[UpdatedAt]))
            {
                if (!IsoTimestamp.TryParse(f[UpdatedAt], out var ts))
                {
                    throw new DataFileException(file, row.LineNumber, UpdatedAt + 1,
                        $"invalid updated_at '{f[UpdatedAt]}' (expected an ISO 8601 timestamp)");
                }

                updatedAt = ts;
            }

            string? region = null;
            if (Region >= 0)
            {
                var normalized = RegionCode.Normalize(f[Region]);
                region = normalized.Length == 0 ? null : normalized;
            }

            return new ParsedRow(new RowValues(states, gpc, minor, region), updatedAt);

            bool ParseBoolean(int column, string name)
            {
                if (column < 0)
                {
                    return false;
                }

                if (!ConsentValues.TryParseBoolean(f[column], out var value))
                {
                    throw new DataFileException(file, row.LineNumber, column + 1,
                        $"invalid {name} value '{f[column]}' (expected true/false/1/0/yes/no or empty)");
                }

                return value;
            }
        }
    }

    /// <summary>
    /// Keeps the rows that count for one user: those with the latest <c>updated_at</c> plus every undated row
    /// (an undated row cannot be proven outdated).
    /// </summary>
    internal sealed class UserAccumulator
    {
        private DateTimeOffset? _latest;
        private RowGroup _dated;
        private RowGroup _undated;

        public void Add(RowValues values, DateTimeOffset? updatedAt)
        {
            if (updatedAt is not { } ts)
            {
                _undated.Add(values);
                return;
            }

            if (_latest is null || ts > _latest)
            {
                _latest = ts;
                _dated = default;
            }

            if (ts == _latest)
            {
                _dated.Add(values);
            }
        }

        public UserConsent Resolve(int purposeCount, out bool conflicted)
        {
            conflicted = _dated.Differ || _undated.Differ
                || (_dated.Count > 0 && _undated.Count > 0 && _dated.First != _undated.First);

            RowGroup all = default;
            all.Merge(_dated, purposeCount);
            all.Merge(_undated, purposeCount);
            return new UserConsent(all.States, all.Gpc, all.Minor, all.Regions?.ToArray() ?? []);
        }
    }

    /// <summary>Rows merged most restrictively, remembering whether any differed from the first.</summary>
    private struct RowGroup
    {
        public int Count;
        public RowValues First;
        public bool Differ;
        public PurposeStates States;
        public bool Gpc;
        public bool Minor;
        public List<string>? Regions;

        public void Add(RowValues values)
        {
            if (Count == 0)
            {
                First = values;
                States = values.States;
            }
            else
            {
                Differ |= values != First;
                States = States.MergeStrictest(values.States, PurposeStates.MaxPurposes);
            }

            Count++;
            Gpc |= values.Gpc;
            Minor |= values.Minor;
            AddRegion(values.Region);
        }

        public void Merge(RowGroup other, int purposeCount)
        {
            if (other.Count == 0)
            {
                return;
            }

            States = Count == 0 ? other.States : States.MergeStrictest(other.States, purposeCount);
            Count += other.Count;
            Gpc |= other.Gpc;
            Minor |= other.Minor;
            foreach (var region in other.Regions ?? [])
            {
                AddRegion(region);
            }
        }

        private void AddRegion(string? region)
        {
            if (region is null)
            {
                return;
            }

            Regions ??= [];
            if (!Regions.Contains(region))
            {
                Regions.Add(region);
            }
        }
    }
}
