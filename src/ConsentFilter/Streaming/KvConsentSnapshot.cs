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
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly string _bucket;
    private Task _watch = Task.CompletedTask;
    private volatile Exception? _fault;
    private long _updates;
    private long _unreadable;
    private ulong _revision;

    private KvConsentSnapshot(string bucket, IReadOnlyList<string> purposes)
    {
        _bucket = bucket;
        Purposes = purposes;
        _lookup = _users.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <inheritdoc/>
    public SnapshotInfo Info => new($"nats-kv:{_bucket}", string.Empty, _users.Count, Interlocked.Read(ref _updates), 0, null);

    /// <inheritdoc/>
    public IReadOnlyList<string> Purposes { get; }

    /// <summary>Whether the bucket's state at the start of the watch has been loaded.</summary>
    public bool IsLoaded => _loaded.Task.IsCompletedSuccessfully && _fault is null;

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
        snapshot._watch = Task.Run(() => snapshot.WatchAsync(connection, waitForBucket, snapshot._stop.Token));
        return snapshot;
    }

    /// <summary>Completes once the bucket's current state is loaded; throws if the watch failed first.</summary>
    public Task WaitLoadedAsync(CancellationToken cancellationToken = default) => _loaded.Task.WaitAsync(cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The bucket is not loaded yet, or the watch failed.</exception>
    public bool TryGetUser(ReadOnlySpan<byte> userId, out UserConsent consent)
    {
        if (_fault is { } fault)
        {
            throw new InvalidOperationException($"the consent bucket '{_bucket}' watch failed: {fault.Message}", fault);
        }

        if (!_loaded.Task.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException($"the consent bucket '{_bucket}' is not loaded yet; nothing may be decided");
        }

        return _lookup.TryGetValue(userId, out consent);
    }

    /// <summary>Stops the watch.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _watch.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task WatchAsync(INatsConnection connection, bool waitForBucket, CancellationToken cancellationToken)
    {
        try
        {
            var kv = connection.CreateKeyValueStoreContext();
            INatsKVStore store;
            while (true)
            {
                try
                {
                    store = await kv.GetStoreAsync(_bucket, cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (NatsJSApiException e) when (waitForBucket && e.Error.Code == 404)
                {
                    await Task.Delay(200, cancellationToken).ConfigureAwait(false);
                }
            }

            var opts = new NatsKVWatchOpts
            {
                // An empty bucket delivers nothing: its (empty) state is loaded as soon as the watch starts.
                OnNoData = _ =>
                {
                    _loaded.TrySetResult();
                    return ValueTask.FromResult(false);
                },
            };
            await foreach (var entry in store.WatchAsync<byte[]>(opts: opts, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                Apply(entry);

                // Delta is how many entries were pending after this one when it was delivered: 0 = caught up.
                if (entry.Delta == 0)
                {
                    _loaded.TrySetResult();
                }
            }

            throw new InvalidOperationException("the watch ended");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _loaded.TrySetCanceled(cancellationToken);
        }
        catch (Exception e)
        {
            // Fail closed: no lookup succeeds once the snapshot may have stopped following the bucket.
            _fault = e;
            _loaded.TrySetException(e);
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
