using System.Text;
using ConsentFilter.Records;

namespace ConsentFilter.Pipeline;

/// <summary>
/// CSV records (SPEC 2.1): a header row names the columns, each later record is one row, kept rows are written byte for
/// byte (line ending normalized to LF) under the first input's header. Rows go through the same splitter, workers and
/// writer as JSON Lines; only the record boundary (<see cref="CsvRecordScanner"/>) and the field extraction differ.
/// </summary>
internal sealed class CsvFormat : RecordFormatAdapter
{
    /// <summary>The field separator of CSV records.</summary>
    internal const byte Separator = (byte)',';

    internal static CsvFormat Instance { get; } = new();

    internal override RecordFormat Format => RecordFormat.Csv;

    internal override async ValueTask<IRecordReader> OpenReaderAsync(RecordInput input, int inputIndex, RunFormatState run, CancellationToken cancellationToken)
    {
        var stream = await input.OpenAsync(cancellationToken).ConfigureAwait(false);
        var splitter = new LineSplitter(stream, inputIndex, run.Options.BatchBytes, run.Options.MaxLineLength, Separator);
        return new CsvRecordReader(stream, splitter, input.Name, run);
    }

    internal override IBatchWorker CreateWorker(WorkerContext context) => new CsvWorker(context);

    internal override IRecordSink CreateSink(Stream output, RunFormatState run) => new TextRecordSink(output);

    /// <summary>Finds each input's header row, checks it against the run's, and hands the columns to every batch.</summary>
    private sealed class CsvRecordReader(Stream stream, LineSplitter splitter, string name, RunFormatState run) : TextRecordReader(stream, splitter)
    {
        private CsvColumns? _columns;

        public override async ValueTask<RecordBatch?> ReadBatchAsync(CancellationToken cancellationToken)
        {
            if (await base.ReadBatchAsync(cancellationToken).ConfigureAwait(false) is not LineBatch batch)
            {
                return null;
            }

            try
            {
                var i = 0;
                while (_columns is null && i < batch.Count)
                {
                    var entry = batch.Lines[i];
                    var tooLong = (entry.Flags & LineFlags.TooLong) != 0;
                    if (tooLong || batch.Content(entry).IndexOfAnyExcept(" \t\r\n"u8) >= 0)
                    {
                        _columns = ReadHeader(batch, entry);
                        var first = run.Schema is null;
                        if (first)
                        {
                            run.Schema = _columns.HeaderBytes;
                            run.SchemaSource = name;
                        }
                        else if (!((byte[])run.Schema!).AsSpan().SequenceEqual(_columns.HeaderBytes))
                        {
                            throw new DataFileException(name, entry.LineNumber, 0,
                                $"the header differs from the header of {run.SchemaSource}; all CSV inputs into one output must share one header");
                        }

                        batch.Lines[i] = entry with { Flags = LineFlags.Header | (first ? LineFlags.WriteHeader : LineFlags.None) };
                    }

                    i++;
                }

                batch.InputContext = _columns;
                return batch;
            }
            catch
            {
                batch.Release();
                throw;
            }
        }

        private CsvColumns ReadHeader(LineBatch batch, LineEntry entry)
        {
            if ((entry.Flags & LineFlags.TooLong) != 0)
            {
                throw new DataFileException(name, entry.LineNumber, 0, "the header row is longer than the maximum line length");
            }

            var header = batch.Content(entry);
            if (!Internal.Utf8Validator.IsValid(header))
            {
                throw new DataFileException(name, entry.LineNumber, 0, "the header row is not valid UTF-8");
            }

            var fields = new List<CsvRecordScanner.Field>();
            if (!CsvRecordScanner.ParseFields(header, Separator, fields))
            {
                throw new DataFileException(name, entry.LineNumber, 0, "the header row breaks the CSV quoting rules (a quote that is never closed, or text after a closing quote)");
            }

            var scratch = Array.Empty<byte>();
            var names = new string[fields.Count];
            for (var f = 0; f < names.Length; f++)
            {
                names[f] = Encoding.UTF8.GetString(fields[f].Value(header, ref scratch));
            }

            return CsvColumns.FromHeader(names, header.ToArray(), name, entry.LineNumber, run.Options);
        }
    }
}

/// <summary>Where the columns the decision reads sit in a CSV input's header.</summary>
internal sealed class CsvColumns
{
    private CsvColumns(int count, byte[] headerBytes)
    {
        Count = count;
        HeaderBytes = headerBytes;
    }

    /// <summary>Fields every row must have.</summary>
    internal int Count { get; }

    /// <summary>The header row's bytes (without its line ending).</summary>
    internal byte[] HeaderBytes { get; }

    internal int User { get; private init; } = -1;

    internal int Region { get; private init; } = -1;

    internal int Id { get; private init; } = -1;

    internal int[] Subjects { get; private init; } = [];

    /// <exception cref="DataFileException">The user column is missing, or a column the decision reads is named twice.</exception>
    internal static CsvColumns FromHeader(string[] names, byte[] headerBytes, string path, long line, ConsentFilterOptions options)
    {
        int Find(string name)
        {
            var index = -1;
            for (var i = 0; i < names.Length; i++)
            {
                if (!string.Equals(names[i], name, StringComparison.Ordinal))
                {
                    continue;
                }

                if (index >= 0)
                {
                    throw new DataFileException(path, line, 0, $"column '{name}' appears more than once in the header");
                }

                index = i;
            }

            return index;
        }

        var columns = new CsvColumns(names.Length, headerBytes)
        {
            User = Find(options.UserField),
            Region = Find(options.RegionField),
            Id = Find(options.IdField),
            Subjects = [.. options.SubjectFields.Select(Find).Where(i => i >= 0)],
        };
        if (columns.User < 0)
        {
            throw new DataFileException(path, line, 0, $"the header has no user id column '{options.UserField}' (set the user field to the column's name)");
        }

        return columns;
    }
}
