using System.Collections.Concurrent;
using ConsentFilter.Consent;
using ConsentFilter.Internal;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace ConsentFilter.Streaming;

/// <summary>A consent snapshot that follows a JetStream key-value bucket (see <see cref="ConsentKv"/> for keys and values).</summary>
/// <remarks>
/// Fail-closed: until the watch has delivered the bucket's current state, <see cref="TryGetUser"/> throws and
/// <see cref="WaitLoadedAsync"/> does not complete, so a worker decides nothing. After that every put, delete and purge
/// is applied as the watch delivers it; a deleted or purged key removes the user (→ <c>unknown_user</c>). If the watch
/// fails, lookups throw from then on. Thread-safe: one watch writes, any number of workers read.
/// </remarks>
public sealed class KvConsentSnapshot : IConsentSnapshot, IAsyncDisposable
{
    private readonly ConcurrentDictionary<byte[], UserConsent> _users = new(ByteArrayComparer.Instance);
    private readonly ConcurrentDictionary<byte[], UserConsent>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly string _bucket;
    private readonly KvFollower _follower;
    private long _updates;
    private long _unreadable;
    private ulong _revision;

    private KvConsentSnapshot(string bucket, IReadOnlyList<string> purposes)
    {
        _bucket = bucket;
        _follower = new KvFollower(bucket);
        Purposes = purposes;
        _lookup = _users.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <inheritdoc/>
    public SnapshotInfo Info => new($"nats-kv:{_bucket}", string.Empty, _users.Count, Interlocked.Read(ref _updates), 0, null);

    /// <inheritdoc/>
    public IReadOnlyList<string> Purposes { get; }

    /// <summary>Whether the bucket's state at the start of the watch has been loaded.</summary>
    public bool IsLoaded => _follower.IsLoaded;

    /// <summary>Users held now.</summary>
    public int Users => _users.Count;

    /// <summary>Bucket entries applied so far (puts, deletes and purges).</summary>
    public long Updates => Interlocked.Read(ref _updates);

    /// <summary>Values that could not be read; each such user is held as denied for every purpose.</summary>
    public long UnreadableValues => Interlocked.Read(ref _unreadable);

    /// <summary>The bucket revision of the last entry applied.</summary>
    public ulong Revision => Interlocked.Read(ref _revision);

    /// <summary>Starts watching <paramref name="bucket"/>; the snapshot decides nothing until <see cref="WaitLoadedAsync"/> completes.</summary>
    /// <param name="connection">The NATS connection (owned by the caller).</param>
    /// <param name="bucket">The key-value bucket.</param>
    /// <param name="purposes">The purposes to hold; a value lacking one of them is unreadable (denied).</param>
    /// <param name="waitForBucket">Wait for the bucket to be created instead of failing when it does not exist.</param>
    public static KvConsentSnapshot Start(INatsConnection connection, string bucket, IReadOnlyList<string> purposes, bool waitForBucket = false)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentException.ThrowIfNullOrWhiteSpace(bucket);
        ArgumentNullException.ThrowIfNull(purposes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(purposes.Count, PurposeStates.MaxPurposes);
        var snapshot = new KvConsentSnapshot(bucket, [.. purposes]);
        snapshot._follower.Start(cancellationToken => snapshot.OpenStoreAsync(connection, waitForBucket, cancellationToken), null, snapshot.Apply);
        return snapshot;
    }

    /// <summary>Completes once the bucket's current state is loaded; throws if the watch failed first.</summary>
    public Task WaitLoadedAsync(CancellationToken cancellationToken = default) => _follower.WaitLoadedAsync(cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The bucket is not loaded yet, or the watch failed.</exception>
    public bool TryGetUser(ReadOnlySpan<byte> userId, out UserConsent consent)
    {
        _follower.ThrowIfNotReady($"the consent bucket '{_bucket}' is not loaded yet; nothing may be decided");
        return _lookup.TryGetValue(userId, out consent);
    }

    /// <summary>Stops the watch.</summary>
    public ValueTask DisposeAsync() => _follower.DisposeAsync();

    /// <summary>Opens the bucket, waiting for it to be created when asked to.</summary>
    private async Task<INatsKVStore> OpenStoreAsync(INatsConnection connection, bool waitForBucket, CancellationToken cancellationToken)
    {
        var kv = connection.CreateKeyValueStoreContext();
        while (true)
        {
            try
            {
                return await kv.GetStoreAsync(_bucket, cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException e) when (waitForBucket && e.Error.Code == 404)
            {
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void Apply(NatsKVEntry<byte[]> entry)
    {
        switch (ConsentKv.Decode(entry, Purposes, out var userId, out var consent))
        {
            case KvChange.Removed:
                _users.TryRemove(userId, out _);
                break;
            case KvChange.Put:
                _users[userId] = consent;
                break;
            case KvChange.Unreadable:
                Interlocked.Increment(ref _unreadable);
                _users[userId] = consent;
                break;
            default:
                Interlocked.Increment(ref _unreadable);
                break;
        }

        Interlocked.Increment(ref _updates);
        Interlocked.Exchange(ref _revision, entry.Revision);
    }
}
