using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using ConsentFilter.Decisions;
using ConsentFilter.Records;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;

namespace ConsentFilter.Streaming;

/// <summary>
/// Filters records arriving on a JetStream stream: each message body is one JSON line, parsed and decided exactly as
/// the file pipeline does; kept records are republished, malformed ones quarantined, every input acked once handled.
/// </summary>
/// <remarks>
/// Any number of workers share one durable pull consumer. A kept record is published with message id
/// <c>&lt;stream&gt;:&lt;created&gt;:&lt;sequence&gt;</c> of its input (<c>created</c>: the input stream's creation time in
/// nanoseconds since the Unix epoch), so the output stream's duplicate window drops a republish after a crash but never
/// a record of a recreated input stream whose sequences restarted; the input is acked only after that publish is acked
/// (at-least-once in, exactly-once out within the window).
/// When the policy's snapshot is a <see cref="KvConsentSnapshot"/> or a <see cref="KvOverlaySnapshot"/>, nothing is
/// consumed before it has loaded.
/// </remarks>
public sealed class StreamFilterWorker
{
    private static readonly JsonWriterOptions s_jsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly INatsConnection _connection;
    private readonly ConsentPolicy _policy;
    private readonly StreamFilterOptions _options;

    /// <summary>Creates a worker; nothing happens until <see cref="RunAsync"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public StreamFilterWorker(INatsConnection connection, ConsentPolicy policy, StreamFilterOptions options)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _connection = connection;
        _policy = policy;
        _options = options;
    }

    /// <summary>What this worker has done so far.</summary>
    public StreamCounts Counts { get; } = new();

    /// <summary>Creates or updates the shared durable consumer (explicit acks, one filter subject).</summary>
    public static async Task EnsureConsumerAsync(INatsConnection connection, StreamFilterOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var js = connection.CreateJetStreamContext();
        var config = new ConsumerConfig(options.Durable)
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = options.AckWait,
            MaxAckPending = -1,
        };
        if (!string.IsNullOrEmpty(options.InputSubject))
        {
            config.FilterSubject = options.InputSubject;
        }

        await js.CreateOrUpdateConsumerAsync(options.InputStream, config, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Consumes until <paramref name="cancellationToken"/> is cancelled; inputs still in flight then are left unacked.</summary>
    /// <remarks>Unacked inputs are redelivered after the ack wait, to this or another worker, and decided again.</remarks>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        // Fail-closed: decide nothing before the bucket's current state is known.
        if (_policy.Snapshot is KvConsentSnapshot kv)
        {
            await kv.WaitLoadedAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (_policy.Snapshot is KvOverlaySnapshot overlay)
        {
            await overlay.WaitLoadedAsync(cancellationToken).ConfigureAwait(false);
        }

        await EnsureConsumerAsync(_connection, _options, cancellationToken).ConfigureAwait(false);
        var js = _connection.CreateJetStreamContext();
        var consumer = await js.GetConsumerAsync(_options.InputStream, _options.Durable, cancellationToken).ConfigureAwait(false);
        // Read after the consumer exists: a consumer dies with its stream, so whatever it delivers comes from this stream
        // or, should the stream and a same-named consumer be recreated while this worker runs, from a later one, which
        // InputStreamIdentity.VerifyAsync catches before a duplicate it could have caused is acked.
        var input = await InputStreamIdentity.ReadAsync(js, _options.InputStream, cancellationToken).ConfigureAwait(false);
        var fields = new LineFields(new FieldPaths(_options.UserField, _options.RegionField, _options.IdField, [.. _options.SubjectFields], _options.MaxSubjects));
        var decider = new JsonRecordDecider(_policy);
        // Short pulls with frequent heartbeats: a pull request lost while the server restarts is noticed (two missed
        // heartbeats) and re-issued within ~2 s, instead of after the 30 s default expiry.
        var consumeOpts = new NatsJSConsumeOpts
        {
            MaxMsgs = Math.Max(_options.MaxInFlight * 2, 64),
            Expires = TimeSpan.FromSeconds(2),
            IdleHeartbeat = TimeSpan.FromMilliseconds(500),
        };

        // Decide in arrival order on this loop; a second loop awaits each publish ack, then acks the input, in the same order.
        var inFlight = Channel.CreateBounded<Pending>(new BoundedChannelOptions(_options.MaxInFlight) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var completer = CompleteAllAsync(inFlight.Reader, stop.Token);
        try
        {
            await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: consumeOpts, cancellationToken: stop.Token).ConfigureAwait(false))
            {
                await inFlight.Writer.WriteAsync(Handle(js, input, msg, fields, decider, stop.Token), stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping, or the completer failed: what is in flight is redelivered later and the duplicate window absorbs republishes.
        }
        finally
        {
            inFlight.Writer.TryComplete();
        }

        try
        {
            await completer.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        async Task CompleteAllAsync(ChannelReader<Pending> reader, CancellationToken token)
        {
            try
            {
                await foreach (var pending in reader.ReadAllAsync(token).ConfigureAwait(false))
                {
                    await CompleteAsync(input, pending, token).ConfigureAwait(false);
                }
            }
            catch
            {
                // A failed publish or ack stops the worker: the consume loop must not go on taking records.
                await stop.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    private Pending Handle(INatsJSContext js, InputStreamIdentity input, INatsJSMsg<byte[]> msg, LineFields fields, JsonRecordDecider decider, CancellationToken cancellationToken)
    {
        var metadata = msg.Metadata ?? throw new InvalidOperationException($"message on '{msg.Subject}' has no JetStream metadata");
        var arrival = input.Received();
        var sequence = metadata.Sequence.Stream;
        var msgId = input.MessageId(sequence);
        var body = msg.Data ?? [];
        var line = StripLineEnding(body);

        if (line.Length > _options.MaxLineLength)
        {
            return Quarantine(js, msg, arrival, metadata.Stream, sequence, msgId, body, MalformedKind.LineTooLong, cancellationToken);
        }

        if (line.IndexOfAnyExcept(" \t\r\n"u8) < 0)
        {
            return new Pending(msg, arrival, Outcome.Blank, default, default, Task.FromResult<PubAckResponse?>(null));
        }

        var malformed = JsonLineParser.Parse(line, fields);
        if (malformed != MalformedKind.None)
        {
            return Quarantine(js, msg, arrival, metadata.Stream, sequence, msgId, body, malformed, cancellationToken);
        }

        var verdict = decider.Decide(line, fields);
        if (!verdict.IsKept)
        {
            return new Pending(msg, arrival, Outcome.Dropped, verdict.Reason, default, Task.FromResult<PubAckResponse?>(null));
        }

        // The kept record exactly as received, without a line ending: the message framing replaces the LF.
        var output = line.Length == body.Length ? body : line.ToArray();
        return new Pending(msg, arrival, Outcome.Kept, default, default, PublishAsync(js, _options.OutputSubject, output, msgId, cancellationToken));
    }

    private Pending Quarantine(INatsJSContext js, INatsJSMsg<byte[]> msg, long arrival, string stream, ulong sequence, string msgId, byte[] body, MalformedKind kind, CancellationToken cancellationToken)
    {
        if (_options.QuarantineSubject is not { } subject)
        {
            return new Pending(msg, arrival, Outcome.Quarantined, default, kind, Task.FromResult<PubAckResponse?>(null));
        }

        var buffer = new ArrayBufferWriter<byte>(body.Length + 96);
        using (var json = new Utf8JsonWriter(buffer, s_jsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("stream"u8, stream);
            json.WriteNumber("seq"u8, sequence);
            json.WriteString("error"u8, kind.ToName());
            Pipeline.RecordAudit.WriteRaw(json, kind, StripLineEnding(body));
            json.WriteEndObject();
        }

        return new Pending(msg, arrival, Outcome.Quarantined, default, kind, PublishAsync(js, subject, buffer.WrittenSpan.ToArray(), msgId, cancellationToken));
    }

    private static async Task<PubAckResponse?> PublishAsync(INatsJSContext js, string subject, byte[] data, string msgId, CancellationToken cancellationToken)
    {
        var ack = await js.PublishAsync(subject, data, opts: new NatsJSPubOpts { MsgId = msgId }, cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            ack.EnsureSuccess();
        }
        catch (NatsJSDuplicateMessageException)
        {
            // Already in the output stream (published before a crash or an ack timeout): exactly what the message id is for.
        }

        return ack;
    }

    private async Task CompleteAsync(InputStreamIdentity input, Pending pending, CancellationToken cancellationToken)
    {
        // The publish must be acked before the input is: a failed publish throws here and the input stays unacked.
        var ack = await pending.Publish.ConfigureAwait(false);
        if (ack?.Duplicate == true)
        {
            // A duplicate is a republish of this very input, unless the input stream was recreated since the worker read
            // its creation time: then it may be a new record with a reused id, discarded. Fail-closed: stop unacked.
            await input.VerifyAsync(pending.Arrival, pending.Message.Metadata!.Value.Sequence.Stream, cancellationToken).ConfigureAwait(false);
        }

        await pending.Message.AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        switch (pending.Outcome)
        {
            case Outcome.Kept:
                Counts.AddKept(ack?.Duplicate == true);
                break;
            case Outcome.Dropped:
                Counts.AddDropped(pending.Reason);
                break;
            case Outcome.Quarantined:
                Counts.AddQuarantined(pending.Error);
                break;
            default:
                Counts.AddBlank();
                break;
        }
    }

    private static ReadOnlySpan<byte> StripLineEnding(byte[] body)
    {
        var span = body.AsSpan();
        if (span.EndsWith("\n"u8))
        {
            span = span[..^1];
            if (span.EndsWith("\r"u8))
            {
                span = span[..^1];
            }
        }

        return span;
    }

    private enum Outcome
    {
        Blank,
        Kept,
        Dropped,
        Quarantined,
    }

    private readonly record struct Pending(INatsJSMsg<byte[]> Message, long Arrival, Outcome Outcome, DropReason Reason, MalformedKind Error, Task<PubAckResponse?> Publish);
}
