using NATS.Client.KeyValueStore;

namespace ConsentFilter.Streaming;

/// <summary>
/// Follows a key-value bucket's watch for a consent snapshot: applies every entry, says when the watch has caught up,
/// and fails closed — once the watch fails, <see cref="ThrowIfNotReady"/> throws for good.
/// </summary>
/// <remarks>Shared by <see cref="KvConsentSnapshot"/> (the whole bucket) and <see cref="KvOverlaySnapshot"/> (changes since a base).</remarks>
internal sealed class KvFollower(string bucket)
{
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private Task _watch = Task.CompletedTask;
    private volatile Exception? _fault;

    /// <summary>Whether the watch has caught up and not failed.</summary>
    internal bool IsLoaded => _loaded.Task.IsCompletedSuccessfully && _fault is null;

    /// <summary>Starts the watch in the background.</summary>
    /// <param name="openStore">Opens the bucket (may wait for it to exist).</param>
    /// <param name="resumeAtRevision">The first revision to deliver, or null for the bucket's current state and on.</param>
    /// <param name="apply">Applies one entry; called from the watch only, one entry at a time.</param>
    internal void Start(Func<CancellationToken, Task<INatsKVStore>> openStore, ulong? resumeAtRevision, Action<NatsKVEntry<byte[]>> apply) =>
        _watch = Task.Run(() => WatchAsync(openStore, resumeAtRevision, apply, _stop.Token), CancellationToken.None);

    /// <summary>Completes once the watch has caught up; throws if it failed first.</summary>
    internal Task WaitLoadedAsync(CancellationToken cancellationToken) => _loaded.Task.WaitAsync(cancellationToken);

    /// <summary>Throws unless lookups may be answered: the watch has caught up and has not failed.</summary>
    /// <param name="notLoaded">What to say while the watch has not caught up yet.</param>
    internal void ThrowIfNotReady(string notLoaded)
    {
        if (_fault is { } fault)
        {
            throw new InvalidOperationException($"the consent bucket '{bucket}' watch failed: {fault.Message}", fault);
        }

        if (!_loaded.Task.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException(notLoaded);
        }
    }

    /// <summary>Stops the watch and waits for it.</summary>
    internal async ValueTask DisposeAsync()
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

    private async Task WatchAsync(
        Func<CancellationToken, Task<INatsKVStore>> openStore, ulong? resumeAtRevision, Action<NatsKVEntry<byte[]>> apply, CancellationToken cancellationToken)
    {
        try
        {
            var store = await openStore(cancellationToken).ConfigureAwait(false);
            var opts = new NatsKVWatchOpts
            {
                // Nothing to deliver (an empty bucket, or nothing since the base): the state is loaded as it is.
                OnNoData = _ =>
                {
                    _loaded.TrySetResult();
                    return ValueTask.FromResult(false);
                },
            };
            if (resumeAtRevision is { } revision)
            {
                opts = opts with { ResumeAtRevision = revision };
            }

            await foreach (var entry in store.WatchAsync<byte[]>(opts: opts, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                apply(entry);

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
}
