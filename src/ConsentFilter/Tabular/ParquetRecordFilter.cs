using ConsentFilter.Decisions;
using ConsentFilter.IO;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;
using Parquet;
using Parquet.Data;
using Parquet.Schema;

namespace ConsentFilter.Tabular;

/// <summary>Filters Parquet records and writes the kept rows, with the input's schema, to one Parquet file.</summary>
/// <remarks>
/// Row groups are streamed: one input row group is in memory at a time and becomes one output row group of its kept
/// rows. Columns are found by name (<see cref="ConsentFilterOptions.UserField"/> and the others; a dotted path reaches
/// into struct columns); co-subject columns may be scalar or list columns. Kept rows keep every column's values,
/// nulls and lists; the file's bytes differ (encodings and compression are the writer's). The decision is
/// <see cref="ConsentPolicy"/>'s, author first, as for JSON Lines.
/// </remarks>
public sealed class ParquetRecordFilter
{
    private readonly ConsentPolicy _policy;
    private readonly ConsentFilterOptions _options;

    /// <summary>Creates the filter.</summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid.</exception>
    public ParquetRecordFilter(ConsentPolicy policy, ConsentFilterOptions options)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        ConsentFilterOptionsValidator.ThrowIfInvalid(options);
        _policy = policy;
        _options = options;
    }

    /// <summary>Receives progress after each row group; null for none.</summary>
    public IProgress<FilterProgress>? Progress { get; set; }

    /// <summary>Filters Parquet files into one Parquet file, committing every output only when the whole run succeeded.</summary>
    /// <remarks>The output must be a file (Parquet is written with a footer, not streamed); its schema is the first input's.</remarks>
    /// <exception cref="DataFileException">An input lacks the user column, has a column of a type the decision cannot read, or a schema unlike the first input's.</exception>
    /// <exception cref="IOException">An input is not a Parquet file or is truncated.</exception>
    public async Task<FilterReport> RunToFilesAsync(IReadOnlyList<string> inputPaths, FilterFileOutputs outputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputPaths);
        ArgumentNullException.ThrowIfNull(outputs);
        FileRunPaths.Check(_policy, inputPaths, outputs, manifest: false);
        if (outputs.Output == RecordFiles.StandardStream || inputPaths.Contains(RecordFiles.StandardStream))
        {
            throw new ArgumentException("Parquet records are read from and written to files, not standard input or output", nameof(outputs));
        }

        await using var kept = AtomicFile.Create(outputs.Output);
        await using var rejections = outputs.Rejections is null ? null : OutputFile.Open(outputs.Rejections, PhysicalFileSystem.Instance);
        await using var quarantine = outputs.Quarantine is null ? null : OutputFile.Open(outputs.Quarantine, PhysicalFileSystem.Instance);
        await using var reportFile = outputs.Report is null ? null : OutputFile.Open(outputs.Report, PhysicalFileSystem.Instance);

        var run = new TabularRun(_policy, _options, inputPaths, rejections?.Stream, quarantine?.Stream, Progress, "row");
        var writer = new OutputWriter();
        long bytesBefore = 0;
        try
        {
            for (var i = 0; i < inputPaths.Count; i++)
            {
                await FilterOneAsync(i, inputPaths[i], run, kept.Stream, writer, bytesBefore, cancellationToken).ConfigureAwait(false);
                bytesBefore += run.PerInput[i].Bytes;
            }

            if (writer.Writer is null)
            {
                throw new ArgumentException("no Parquet input", nameof(inputPaths));
            }
        }
        finally
        {
            if (writer.Writer is not null)
            {
                // Writes the footer; on failure the temporary file is deleted anyway.
                await writer.Writer.DisposeAsync().ConfigureAwait(false);
            }
        }

        var report = run.Report(inputPaths);
        if (reportFile is not null)
        {
            report.WriteJson(reportFile.Stream);
        }

        return await TabularOutputs.FinishAsync(run, inputPaths, null, rejections, quarantine, reportFile, cancellationToken, report, kept).ConfigureAwait(false);
    }

    private async Task FilterOneAsync(
        int input, string path, TabularRun run, Stream output, OutputWriter writer, long bytesBefore, CancellationToken cancellationToken)
    {
        ParquetSupport.EnsureAvailable(path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        await using var reader = await ParquetReader.CreateAsync(file, null, leaveStreamOpen: false, cancellationToken).ConfigureAwait(false);
        var schema = reader.Schema;
        if (writer.Writer is null)
        {
            writer.Schema = schema;
            writer.Writer = await ParquetWriter.CreateAsync(schema, output, null, false, cancellationToken).ConfigureAwait(false);
        }
        else if (!schema.Equals(writer.Schema))
        {
            throw new DataFileException(path, 0, 0, "the schema differs from the first input's; all Parquet inputs of one run must share one schema");
        }

        var user = ParquetColumn.Find(schema, _options.UserField, allowList: false, allowIntegers: true, path, "user field")
            ?? throw new DataFileException(path, 0, 0, $"the schema has no user id column '{_options.UserField}' (set the user field to the column's name)");
        var region = ParquetColumn.Find(schema, _options.RegionField, allowList: false, allowIntegers: false, path, "region field");
        var id = ParquetColumn.Find(schema, _options.IdField, allowList: false, allowIntegers: true, path, "id field");
        var subjects = _options.SubjectFields
            .Select(f => ParquetColumn.Find(schema, f, allowList: true, allowIntegers: true, path, "subject field"))
            .OfType<ParquetColumn>()
            .ToArray();

        var record = new TabularRecord();
        long rowsBefore = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var rowGroup = reader.OpenRowGroupReader(g);
            var rowCount = checked((int)rowGroup.RowCount);
            var users = await user.ReadAsync(rowGroup, cancellationToken).ConfigureAwait(false);
            var regions = region is null ? null : await region.ReadAsync(rowGroup, cancellationToken).ConfigureAwait(false);
            var ids = id is null ? null : await id.ReadAsync(rowGroup, cancellationToken).ConfigureAwait(false);
            var subjectCells = new ParquetColumnCells[subjects.Length];
            for (var s = 0; s < subjects.Length; s++)
            {
                subjectCells[s] = await subjects[s].ReadAsync(rowGroup, cancellationToken).ConfigureAwait(false);
            }

            var keep = new bool[rowCount];
            var keptRows = 0;
            for (var r = 0; r < rowCount; r++)
            {
                Read(r, users, regions, ids, subjectCells, record);
                if (run.Decide(input, rowsBefore + r + 1, record, default, hasRaw: false))
                {
                    keep[r] = true;
                    keptRows++;
                }
            }

            rowsBefore += rowCount;
            if (keptRows > 0)
            {
                await CopyRowGroupAsync(schema, rowGroup, writer.Writer, keep, cancellationToken).ConfigureAwait(false);
            }

            run.ReportProgress(input, bytesBefore + file.Position);
        }

        run.PerInput[input].Bytes = file.Length;
    }

    private void Read(int row, ParquetColumnCells users, ParquetColumnCells? regions, ParquetColumnCells? ids, ParquetColumnCells[] subjects, TabularRecord record)
    {
        record.Reset();
        if (users.Count(row) == 0 || users[row, 0] is not { } author)
        {
            record.Fail(MalformedKind.MissingUserId);
        }
        else if (author.Error != MalformedKind.None)
        {
            record.Fail(author.Error);
        }
        else
        {
            record.SetUserId(author.Text);
        }

        if (regions is not null && regions.Count(row) == 1 && regions[row, 0] is { } region)
        {
            if (region.Error != MalformedKind.None)
            {
                record.Fail(region.Error);
            }

            record.Region = region.Text;
        }

        if (ids is not null && ids.Count(row) == 1)
        {
            record.Id = ids[row, 0]?.Text;
        }

        foreach (var column in subjects)
        {
            for (var k = 0; k < column.Count(row); k++)
            {
                var subject = column[row, k];
                if (subject is null)
                {
                    record.Fail(MalformedKind.BadSubjectType);
                }
                else if (subject.Value.Error != MalformedKind.None)
                {
                    record.Fail(subject.Value.Error);
                }
                else
                {
                    record.AddSubject(subject.Value.Text, _options.MaxSubjects);
                }
            }
        }
    }

    /// <summary>The output, created with the first input's schema.</summary>
    private sealed class OutputWriter
    {
        internal ParquetWriter? Writer { get; set; }

        internal ParquetSchema? Schema { get; set; }
    }

    /// <summary>Writes the kept rows of one row group, every column in schema order, as one output row group.</summary>
    private static async Task CopyRowGroupAsync(ParquetSchema schema, ParquetRowGroupReader rowGroup, ParquetWriter writer, bool[] keep, CancellationToken cancellationToken)
    {
        using var output = writer.CreateRowGroup();
        foreach (var field in schema.GetDataFields())
        {
            using var raw = await rowGroup.ReadRawColumnDataBaseAsync(field, cancellationToken).ConfigureAwait(false);
            await (raw switch
            {
                RawColumnData<bool> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<sbyte> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<byte> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<short> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<ushort> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<int> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<uint> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<long> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<ulong> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<Half> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<float> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<double> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<decimal> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<DateTime> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<DateTimeOffset> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<DateOnly> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<TimeOnly> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<TimeSpan> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<Guid> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<BigDecimal> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<ReadOnlyMemory<char>> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                RawColumnData<ReadOnlyMemory<byte>> r => ParquetRows.CopyAsync(output, field, r, keep, cancellationToken),
                _ => throw new NotSupportedException($"column '{field.Path}': values of type {field.ClrType.Name} cannot be copied"),
            }).ConfigureAwait(false);
        }

        output.CompleteValidate();
    }
}

/// <summary>Selects the levels and values of kept rows from one column chunk.</summary>
internal static class ParquetRows
{
    internal static Task CopyAsync<T>(ParquetRowGroupWriter output, DataField field, RawColumnData<T> raw, bool[] keep, CancellationToken cancellationToken)
        where T : struct
    {
        var (values, definitions, repetitions) = Select(field, raw, keep);
        return output.WriteAllPartsAsync<T>(field, values, definitions, repetitions, cancellationToken);
    }

    /// <summary>The kept rows' values, definition levels and repetition levels (null when the column has none).</summary>
    internal static (T[] Values, int[]? Definitions, int[]? Repetitions) Select<T>(DataField field, RawColumnData<T> raw, bool[] keep)
        where T : struct
    {
        var maxDef = field.MaxDefinitionLevel;
        var repeated = field.MaxRepetitionLevel > 0;
        ReadOnlySpan<int> definitions = maxDef > 0 ? raw.DefinitionLevels : default;
        ReadOnlySpan<int> repetitions = repeated ? raw.RepetitionLevels : default;
        ReadOnlySpan<T> values = raw.Values;
        var levels = maxDef > 0 ? definitions.Length : repeated ? repetitions.Length : keep.Length;
        var keptValues = new List<T>(levels);
        var keptDefinitions = maxDef > 0 ? new List<int>(levels) : null;
        var keptRepetitions = repeated ? new List<int>(levels) : null;
        var row = -1;
        var value = 0;
        for (var e = 0; e < levels; e++)
        {
            if (!repeated || repetitions[e] == 0)
            {
                row++;
            }

            var isValue = maxDef == 0 || definitions[e] == maxDef;
            if (keep[row])
            {
                keptDefinitions?.Add(definitions[e]);
                keptRepetitions?.Add(repetitions[e]);
                if (isValue)
                {
                    keptValues.Add(values[value]);
                }
            }

            if (isValue)
            {
                value++;
            }
        }

        return ([.. keptValues], keptDefinitions?.ToArray(), keptRepetitions?.ToArray());
    }
}
