using System.Buffers;

namespace ConsentFilter.Pipeline;

/// <summary>Cuts an input stream into batches of whole lines without copying them (SPEC 2.1 line rules).</summary>
/// <remarks>
/// A UTF-8 BOM is stripped only at the very start of the input. One CR before the LF belongs to the line ending.
/// A line longer than the maximum is skipped in bounded memory and handed on as a too-long marker, so a 1 GB line
/// without a newline never needs 1 GB.
/// </remarks>
internal sealed class LineSplitter
{
    private readonly Stream _stream;
    private readonly int _inputIndex;
    private readonly int _batchBytes;
    private readonly int _maxLineLength;
    private byte[]? _carry;
    private int _carryLength;
    private bool _atStart = true;
    private bool _eof;
    private long _lineNumber;
    private long _sequence;
    private readonly byte? _csvSeparator;

    /// <param name="stream">The input, decompressed.</param>
    /// <param name="inputIndex">The input's index in the run.</param>
    /// <param name="batchBytes">Target batch size.</param>
    /// <param name="maxLineLength">Longest line (or CSV record) read; longer ones are skipped in bounded memory.</param>
    /// <param name="csvSeparator">
    /// For CSV records, the separator: a record then ends at the first LF outside a quoted field
    /// (<see cref="Records.CsvRecordScanner.RecordEnd"/>), and a too-long one is skipped to the next LF.
    /// </param>
    internal LineSplitter(Stream stream, int inputIndex, int batchBytes, int maxLineLength, byte? csvSeparator = null)
    {
        _csvSeparator = csvSeparator;
        _stream = stream;
        _inputIndex = inputIndex;
        _batchBytes = batchBytes;
        _maxLineLength = maxLineLength;
    }

    private long _bytesReported;

    /// <summary>Bytes read from the stream so far.</summary>
    internal long BytesRead { get; private set; }

    /// <summary>Reads the next batch, or null at the end of the input.</summary>
    internal async ValueTask<LineBatch?> ReadBatchAsync(CancellationToken cancellationToken)
    {
        if (_eof && _carryLength == 0)
        {
            return null;
        }

        // Room for a whole maximal line plus CR LF, so a line that fits the limit always fits one buffer.
        var capacity = Math.Max(_batchBytes, _carryLength * 2);
        var buffer = ArrayPool<byte>.Shared.Rent(capacity);
        var filled = 0;
        if (_carry is not null)
        {
            _carry.AsSpan(0, _carryLength).CopyTo(buffer);
            filled = _carryLength;
            ArrayPool<byte>.Shared.Return(_carry);
            _carry = null;
            _carryLength = 0;
        }

        var batch = new LineBatch(buffer, _inputIndex, _sequence++);
        try
        {
            while (true)
            {
                filled = await FillAsync(batch, filled, cancellationToken).ConfigureAwait(false);
                if (_atStart && filled >= 3 || _eof)
                {
                    filled = StripBom(batch.Buffer, filled);
                }

                var consumed = SplitLines(batch, filled);
                var rest = filled - consumed;
                if (_eof)
                {
                    if (rest > 0)
                    {
                        var innerLines = _csvSeparator is null ? 0 : batch.Buffer.AsSpan(consumed, rest).Count((byte)'\n');
                        AddLine(batch, consumed, rest, endsWithLf: false, innerLines);
                    }

                    return Account(batch);
                }

                if (batch.Count > 0)
                {
                    Carry(batch.Buffer.AsSpan(consumed, rest));
                    return Account(batch);
                }

                // No line ended in a full buffer: the line is longer than the buffer.
                if (rest > _maxLineLength + 1)
                {
                    // A CSV record's quoted line breaks count as lines; the record is cut at the next LF after the limit
                    // (so an unclosed quote hides at most the maximum length).
                    var innerLines = _csvSeparator is null ? 0 : batch.Buffer.AsSpan(consumed, rest).Count((byte)'\n');
                    await SkipTooLongLineAsync(batch, cancellationToken).ConfigureAwait(false);
                    _lineNumber += innerLines;
                    return Account(batch);
                }

                var grown = ArrayPool<byte>.Shared.Rent(Math.Min(batch.Buffer.Length * 2, _maxLineLength + 2));
                batch.Buffer.AsSpan(0, filled).CopyTo(grown);
                batch.ReplaceEmptyBuffer(grown);
            }
        }
        catch
        {
            batch.Release();
            throw;
        }
    }

    private LineBatch Account(LineBatch batch)
    {
        batch.InputBytes = BytesRead - _bytesReported;
        _bytesReported = BytesRead;
        return batch;
    }

    private async ValueTask<int> FillAsync(LineBatch batch, int filled, CancellationToken cancellationToken)
    {
        var buffer = batch.Buffer;
        while (filled < buffer.Length && !_eof)
        {
            var n = await _stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                _eof = true;
                break;
            }

            filled += n;
            BytesRead += n;
        }

        return filled;
    }

    private int StripBom(byte[] buffer, int filled)
    {
        if (!_atStart)
        {
            return filled;
        }

        _atStart = false;
        if (filled >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF)
        {
            buffer.AsSpan(3, filled - 3).CopyTo(buffer);
            return filled - 3;
        }

        return filled;
    }

    /// <summary>Adds every LF-terminated line in <c>buffer[0..filled)</c>; returns the bytes consumed.</summary>
    private int SplitLines(LineBatch batch, int filled)
    {
        var span = batch.Buffer.AsSpan(0, filled);
        var position = 0;
        while (true)
        {
            var innerLines = 0;
            var lf = _csvSeparator is { } separator
                ? CsvRecordEnd(span[position..], separator, out innerLines)
                : span[position..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                return position;
            }

            AddLine(batch, position, lf, endsWithLf: true, innerLines);
            position += lf + 1;
        }
    }

    /// <summary>
    /// Where a CSV record ends: at its first LF outside quotes, or — when that lies past the maximum length, or is not
    /// in sight while more than the maximum is — at the first LF after the maximum, so an unclosed quote hides at most
    /// the maximum length (the cut record is too long and quarantined). The cut does not depend on buffer sizes.
    /// </summary>
    private int CsvRecordEnd(ReadOnlySpan<byte> data, byte separator, out int innerLines)
    {
        var end = Records.CsvRecordScanner.RecordEnd(data, separator, out innerLines);
        if (end <= _maxLineLength + 1 && (end >= 0 || data.Length <= _maxLineLength + 1))
        {
            return end;
        }

        var from = _maxLineLength + 1;
        var cut = data[from..].IndexOf((byte)'\n');
        if (cut < 0)
        {
            return -1;
        }

        innerLines = data[..(from + cut)].Count((byte)'\n');
        return from + cut;
    }

    private void AddLine(LineBatch batch, int offset, int length, bool endsWithLf, int innerLines = 0)
    {
        _lineNumber++;
        var first = _lineNumber;
        _lineNumber += innerLines;
        var hasCr = length > 0 && batch.Buffer[offset + length - 1] == (byte)'\r' && endsWithLf;
        if (hasCr)
        {
            length--;
        }

        var flags = length > _maxLineLength ? LineFlags.TooLong : LineFlags.None;

        batch.Add(new LineEntry(offset, length, first, flags));
    }

    private void Carry(ReadOnlySpan<byte> rest)
    {
        if (rest.IsEmpty)
        {
            return;
        }

        _carry = ArrayPool<byte>.Shared.Rent(rest.Length);
        rest.CopyTo(_carry);
        _carryLength = rest.Length;
    }

    /// <summary>Discards the current line up to and including its LF, reusing the batch buffer as scratch.</summary>
    private async ValueTask SkipTooLongLineAsync(LineBatch batch, CancellationToken cancellationToken)
    {
        _lineNumber++;
        batch.Add(new LineEntry(0, 0, _lineNumber, LineFlags.TooLong));
        var buffer = batch.Buffer;
        while (true)
        {
            var n = await _stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                _eof = true;
                return;
            }

            BytesRead += n;
            var lf = buffer.AsSpan(0, n).IndexOf((byte)'\n');
            if (lf >= 0)
            {
                Carry(buffer.AsSpan(lf + 1, n - lf - 1));
                return;
            }
        }
    }
}
