using System.Globalization;
using NATS.Client.JetStream;

namespace ConsentFilter.Streaming;

/// <summary>
/// One incarnation of the input stream, told apart by its creation time: the message ids it gives, and the check that the
/// stream has not been deleted or recreated since.
/// </summary>
/// <remarks>
/// A deleted and recreated stream restarts its sequences at 1, so <c>&lt;stream&gt;:&lt;sequence&gt;</c> alone would repeat
/// an id still in the output stream's duplicate window and the new record would be discarded as a duplicate while its
/// input is acked. The same input redelivered keeps its id: the creation time does not change while the stream lives.
/// </remarks>
internal sealed class InputStreamIdentity
{
    private readonly INatsJSContext _js;
    private readonly string _idPrefix;
    private long _received;
    private long _verifiedThrough;

    internal InputStreamIdentity(INatsJSContext js, string name, DateTimeOffset created)
    {
        _js = js;
        Name = name;
        Created = created;
        _idPrefix = string.Create(CultureInfo.InvariantCulture, $"{name}:{(created.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100}:");
    }

    public string Name { get; }

    /// <summary>When the stream was created, as the server reports it.</summary>
    public DateTimeOffset Created { get; }

    /// <summary>Reads the stream's creation time now.</summary>
    public static async Task<InputStreamIdentity> ReadAsync(INatsJSContext js, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(js);
        return new InputStreamIdentity(js, name, await ReadCreatedAsync(js, name, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Numbers the messages in the order the consume loop receives them; returns this one's number.</summary>
    public long Received() => Interlocked.Increment(ref _received);

    /// <summary><c>&lt;stream&gt;:&lt;created, ns since the Unix epoch&gt;:&lt;sequence&gt;</c>.</summary>
    public string MessageId(ulong sequence) => string.Create(CultureInfo.InvariantCulture, $"{_idPrefix}{sequence}");

    /// <summary>Throws unless the stream is still the one created at <see cref="Created"/>; called by one thread at a time.</summary>
    /// <param name="arrival">The number <see cref="Received"/> gave the message being checked.</param>
    /// <param name="sequence">Its stream sequence, for the message.</param>
    /// <param name="cancellationToken">Cancels the stream info request.</param>
    /// <remarks>
    /// The creation time read now being the same proves the stream was not recreated since it was first read, so every
    /// message received before this read came from it: one read covers them all, and a burst of duplicates after a crash
    /// costs one request.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The stream was deleted, or recreated.</exception>
    public async ValueTask VerifyAsync(long arrival, ulong sequence, CancellationToken cancellationToken)
    {
        if (arrival <= _verifiedThrough)
        {
            return;
        }

        var through = Interlocked.Read(ref _received);
        DateTimeOffset now;
        try
        {
            now = await ReadCreatedAsync(_js, Name, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            throw InvalidOperation_InputStreamRecreated(Name, sequence, Created, null);
        }

        if (now.UtcTicks != Created.UtcTicks)
        {
            throw InvalidOperation_InputStreamRecreated(Name, sequence, Created, now);
        }

        _verifiedThrough = Math.Max(_verifiedThrough, through);
    }

    private static async Task<DateTimeOffset> ReadCreatedAsync(INatsJSContext js, string name, CancellationToken cancellationToken)
    {
        var stream = await js.GetStreamAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
        return stream.Info.Created;
    }

    private static InvalidOperationException InvalidOperation_InputStreamRecreated(string stream, ulong sequence, DateTimeOffset created, DateTimeOffset? now) => new(
        string.Create(
            CultureInfo.InvariantCulture,
            $"input stream '{stream}' created {created:O} was {(now is { } t ? $"recreated at {t:O}" : "deleted")} while the worker ran: stopped without acking sequence {sequence}, whose publish was reported a duplicate and may be a new record with a reused id; restart the worker to use the new stream's message ids"));
}
