using System.Collections.Concurrent;
using System.Globalization;
using ConsentFilter.Consent;
using ConsentFilter.Internal;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace ConsentFilter.Streaming;

/// <summary>
/// A compiled snapshot (the base) plus the key-value bucket's changes since it was built (the overlay): starts a worker at
/// hundreds of millions of users without replaying the whole bucket. See docs/streaming.md.
/// </summary>
/// <remarks>
/// The overlay follows the bucket's stream from the base's stream sequence + 1 (a base read from the bucket by
/// <see cref="ConsentKv.CompileAsync"/>) or from its as-of time minus <see cref="KvOverlayOptions.StartMargin"/> (a base
/// compiled from a CSV). A put replaces the user, a delete or purge hides the base's user; lookups read the overlay first,
/// then the base. <see cref="StartAsync"/> refuses, with one line naming the reason, a base and bucket that cannot be
/// joined without possibly missing an opt-out. Fail-closed exactly as <see cref="KvConsentSnapshot"/>: until the overlay
/// has caught up with the bucket, <see cref="TryGetUser"/> throws; if the watch fails, lookups throw from then on.
/// The base is owned by the caller and must outlive this snapshot.
/// </remarks>
public sealed class KvOverlaySnapshot : IConsentSnapshot, IAsyncDisposable
{
    private readonly ConcurrentDictionary<byte[], OverlayEntry> _overlay = new(ByteArrayComparer.Instance);
    private readonly ConcurrentDictionary<byte[], OverlayEntry>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly CompiledSnapshot _base;
    private readonly string _bucket;
    private readonly KvFollower _follower;
    private long _updates;
    private long _unreadable;
    private ulong _revision;

    private KvOverlaySnapshot(CompiledSnapshot baseSnapshot, string bucket, ulong startSequence)
    {
        _base = baseSnapshot;
        _bucket = bucket;
        _follower = new KvFollower(bucket);
        StartSequence = startSequence;
        _lookup = _overlay.GetAlternateLookup<ReadOnlySpan<byte>>();
        var info = baseSnapshot.Info;
        Info = new SnapshotInfo($"{info.Source}+nats-kv:{bucket}", info.Sha256, info.Users, info.Rows, info.Conflicts, info.AsOf) { Form = SnapshotForm.Compiled };
    }

    /// <inheritdoc/>
    /// <remarks>The base's facts; the source names both the file and the bucket.</remarks>
    public SnapshotInfo Info { get; }

    /// <inheritdoc/>
    /// <remarks>The base's purposes: bucket values are read for all of them, as the base was.</remarks>
    public IReadOnlyList<string> Purposes => _base.Purposes;

    /// <summary>The compiled base.</summary>
    public CompiledSnapshot Base => _base;

    /// <summary>The first bucket stream sequence the overlay reads.</summary>
    public ulong StartSequence { get; }

    /// <summary>Whether the overlay has caught up with the bucket as of the start of the watch.</summary>
    public bool IsLoaded => _follower.IsLoaded;

    /// <summary>Users changed since the base (puts and removals).</summary>
    public int OverlayUsers => _overlay.Count;

    /// <summary>Bucket entries applied so far (puts, deletes and purges).</summary>
    public long Updates => Interlocked.Read(ref _updates);

    /// <summary>Values that could not be read; each such user is held as denied for every purpose.</summary>
    public long UnreadableValues => Interlocked.Read(ref _unreadable);

    /// <summary>The bucket revision (stream sequence) of the last entry applied.</summary>
    public ulong Revision => Interlocked.Read(ref _revision);

    /// <summary>
    /// Checks that <paramref name="baseSnapshot"/> and <paramref name="bucket"/> can be joined, then starts following the
    /// bucket's changes since the base; the snapshot decides nothing until <see cref="WaitLoadedAsync"/> completes.
    /// </summary>
    /// <param name="connection">The NATS connection (owned by the caller).</param>
    /// <param name="bucket">The key-value bucket.</param>
    /// <param name="baseSnapshot">The compiled base (owned by the caller; it must outlive the returned snapshot).</param>
    /// <param name="purposes">The purposes the run decides; the base must hold each of them.</param>
    /// <param name="options">How to join; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the checks and the start.</param>
    /// <exception cref="DataFileException">The base and the bucket cannot be joined; the message names the reason.</exception>
    public static async Task<KvOverlaySnapshot> StartAsync(INatsConnection connection, string bucket, CompiledSnapshot baseSnapshot, IReadOnlyList<string> purposes, KvOverlayOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentException.ThrowIfNullOrWhiteSpace(bucket);
        ArgumentNullException.ThrowIfNull(baseSnapshot);
        ArgumentNullException.ThrowIfNull(purposes);
        options ??= new KvOverlayOptions();
        options.Validate();

        var store = await connection.CreateKeyValueStoreContext().GetStoreAsync(bucket, cancellationToken).ConfigureAwait(false);
        var stream = (await store.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Info;
        var plan = Plan(baseSnapshot, bucket, purposes, stream, options, DateTimeOffset.UtcNow);
        var start = plan.Sequence ?? await FirstSequenceSinceAsync(connection, stream, plan.Time, cancellationToken).ConfigureAwait(false);

        var snapshot = new KvOverlaySnapshot(baseSnapshot, bucket, start);
        snapshot._follower.Start(_ => Task.FromResult(store), start, snapshot.Apply);
        return snapshot;
    }

    /// <summary>Completes once the overlay has caught up; throws if the watch failed first.</summary>
    public Task WaitLoadedAsync(CancellationToken cancellationToken = default) => _follower.WaitLoadedAsync(cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The overlay has not caught up yet, or the watch failed.</exception>
    public bool TryGetUser(ReadOnlySpan<byte> userId, out UserConsent consent)
    {
        _follower.ThrowIfNotReady($"the consent bucket '{_bucket}' changes since the base are not loaded yet; nothing may be decided");

        if (_lookup.TryGetValue(userId, out var entry))
        {
            consent = entry.Consent;
            return entry.Present;
        }

        return _base.TryGetUser(userId, out consent);
    }

    /// <summary>Stops the watch (the base stays open: it is the caller's).</summary>
    public ValueTask DisposeAsync() => _follower.DisposeAsync();

    /// <summary>Where to start reading, or the refusal: every check that can be made before reading a single entry.</summary>
    internal static (ulong? Sequence, DateTimeOffset Time) Plan(CompiledSnapshot baseSnapshot, string bucket, IReadOnlyList<string> purposes, StreamInfo stream, KvOverlayOptions options, DateTimeOffset now)
    {
        foreach (var purpose in purposes)
        {
            if (!baseSnapshot.Purposes.Contains(purpose, StringComparer.OrdinalIgnoreCase))
            {
                throw Refused(baseSnapshot, $"it does not hold purpose '{purpose}' (it holds: {string.Join(", ", baseSnapshot.Purposes)})");
            }
        }

        var asOf = baseSnapshot.Info.AsOf;
        if (options.MaxBaseAge is { } maxAge)
        {
            if (asOf is not { } t)
            {
                throw Refused(baseSnapshot, $"it has no as-of time, so it fails the maximum base age {maxAge}");
            }

            if (now - t > maxAge)
            {
                throw Refused(baseSnapshot, $"it is as of {Time(t)}, {now - t:d\\.hh\\:mm\\:ss} old, older than the maximum base age {maxAge}");
            }
        }

        var config = stream.Config;
        var state = stream.State;
        if (config.MaxAge > TimeSpan.Zero)
        {
            throw Refused(baseSnapshot, $"bucket '{bucket}' has a max age (TTL) of {config.MaxAge}: expired entries leave no trace, so changes since the base may be gone");
        }

        if (config.Discard == StreamConfigDiscard.Old && (config.MaxMsgs > 0 || config.MaxBytes > 0))
        {
            throw Refused(baseSnapshot, $"bucket '{bucket}' discards old entries past a limit (max_msgs {config.MaxMsgs}, max_bytes {config.MaxBytes}): changes since the base may be gone");
        }

        if (!config.DenyDelete)
        {
            throw Refused(baseSnapshot, $"bucket '{bucket}' allows deleting single messages of its stream (deny_delete false): a deleted delete marker would leave a revoked user in the base");
        }

        if (baseSnapshot.BucketSource is { } source)
        {
            if (!string.Equals(source.Bucket, bucket, StringComparison.Ordinal))
            {
                throw Refused(baseSnapshot, $"it was read from bucket '{source.Bucket}', not '{bucket}'");
            }

            if (stream.Created.UtcTicks != source.StreamCreated.UtcTicks)
            {
                throw Refused(baseSnapshot, $"bucket '{bucket}' was recreated: its stream was created {Time(stream.Created)}, the base was read from one created {Time(source.StreamCreated)}");
            }

            if (state.LastSeq < source.StreamSequence)
            {
                throw Refused(baseSnapshot, $"bucket '{bucket}' ends at stream sequence {state.LastSeq}, before the base's {source.StreamSequence} (recreated or restored from an older backup)");
            }

            if (state.Messages == 0 && state.LastSeq > source.StreamSequence)
            {
                throw Purged(baseSnapshot, bucket, state.LastSeq);
            }

            return (source.StreamSequence + 1, asOf ?? DateTimeOffset.MinValue);
        }

        if (asOf is not { } since)
        {
            throw Refused(baseSnapshot, "it has neither a bucket stream sequence nor an as-of time, so there is no point in the bucket to start from");
        }

        var startTime = since - options.StartMargin;
        if (stream.Created > startTime)
        {
            throw Refused(baseSnapshot, $"bucket '{bucket}' was created {Time(stream.Created)}, after the base's as-of {Time(since)} minus the start margin {options.StartMargin}: changes before that are not in the bucket");
        }

        if (state.Messages == 0 && state.LastSeq > 0)
        {
            throw Purged(baseSnapshot, bucket, state.LastSeq);
        }

        return (null, startTime);
    }

    private static async Task<ulong> FirstSequenceSinceAsync(INatsConnection connection, StreamInfo stream, DateTimeOffset time, CancellationToken cancellationToken)
    {
        var state = stream.State;
        if (state.Messages == 0 || (ParseTime(state.LastTs) is { } last && last < time))
        {
            // Nothing written since: the next entry is the first change.
            return state.LastSeq + 1;
        }

        // The last entry is at or after the time, so a consumer by start time delivers at once.
        var js = connection.CreateJetStreamContext();
        var probe = await js.CreateOrderedConsumerAsync(
            stream.Config.Name!,
            new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartTime, OptStartTime = time },
            cancellationToken).ConfigureAwait(false);
        var first = await probe.NextAsync<byte[]>(opts: new NatsJSNextOpts { Expires = TimeSpan.FromSeconds(5) }, cancellationToken: cancellationToken).ConfigureAwait(false);

        // Not found (the entry was overwritten meanwhile): replay the whole stream, slower but never missing a change.
        return first?.Metadata?.Sequence.Stream ?? state.FirstSeq;
    }

    /// <summary>An RFC 3339 time as the server writes it (up to nanoseconds; .NET keeps 100 ns), or null.</summary>
    private static DateTimeOffset? ParseTime(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                text = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
            }
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;
    }

    private static DataFileException Refused(CompiledSnapshot baseSnapshot, string reason) =>
        new(baseSnapshot.Info.Source, 0, 0, $"consent base refused: {reason}");

    /// <summary>Every write leaves its key's latest entry (or delete marker) in the stream: none left means a purge.</summary>
    private static DataFileException Purged(CompiledSnapshot baseSnapshot, string bucket, ulong lastSequence) =>
        Refused(baseSnapshot, $"bucket '{bucket}' holds no entry but its stream reached sequence {lastSequence}: it was purged, so deletes since the base are lost");

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private void Apply(NatsKVEntry<byte[]> entry)
    {
        switch (ConsentKv.Decode(entry, Purposes, out var userId, out var consent))
        {
            case KvChange.Removed:
                // A tombstone, not a removal: the base's copy of the user must stay hidden.
                _overlay[userId] = new OverlayEntry(false, default);
                break;
            case KvChange.Put:
                _overlay[userId] = new OverlayEntry(true, consent);
                break;
            case KvChange.Unreadable:
                Interlocked.Increment(ref _unreadable);
                _overlay[userId] = new OverlayEntry(true, consent);
                break;
            default:
                Interlocked.Increment(ref _unreadable);
                break;
        }

        Interlocked.Increment(ref _updates);
        Interlocked.Exchange(ref _revision, entry.Revision);
    }

    private readonly record struct OverlayEntry(bool Present, UserConsent Consent);
}
