using System.Security.Cryptography;
using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Internal;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace ConsentFilter.Streaming;

/// <summary>Compiling a bucket into a snapshot file that a worker starts from (see <see cref="KvOverlaySnapshot"/>).</summary>
public static partial class ConsentKv
{
    /// <summary>
    /// Reads <paramref name="bucket"/> to its current end and compiles it to <paramref name="path"/>, recording the bucket
    /// stream's sequence and creation time so a worker can later apply only the changes after it.
    /// </summary>
    /// <remarks>
    /// The sequence recorded is the stream's last sequence before the read starts; the read may also see a few later
    /// changes, which a worker then applies again (harmless: an entry replaces the user with the same consent). The as-of
    /// time is the local clock before the read, so it never claims more than the file holds. Values are decoded as by
    /// <see cref="KvConsentSnapshot"/>: unreadable ones are held as denied, deleted or purged keys are absent.
    /// </remarks>
    /// <exception cref="NATS.Client.JetStream.NatsJSApiException">The bucket does not exist or the server failed.</exception>
    public static async Task<CompiledSnapshotSummary> CompileAsync(INatsConnection connection, string bucket, IReadOnlyList<string> purposes, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentException.ThrowIfNullOrWhiteSpace(bucket);
        ArgumentNullException.ThrowIfNull(purposes);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var store = await connection.CreateKeyValueStoreContext().GetStoreAsync(bucket, cancellationToken).ConfigureAwait(false);
        var asOf = DateTimeOffset.UtcNow;
        var status = await store.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        var source = new SnapshotBucketSource(bucket, status.Info.State.LastSeq, status.Info.Created);

        var users = new Dictionary<byte[], UserConsent>(ByteArrayComparer.Instance);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long entries = 0;
        var opts = new NatsKVWatchOpts
        {
            // An empty bucket delivers nothing: end at once.
            OnNoData = _ => ValueTask.FromResult(true),
        };
        await foreach (var entry in store.WatchAsync<byte[]>(opts: opts, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            entries++;
            sha.AppendData(Encoding.UTF8.GetBytes($"{entry.Revision}:{entry.Operation}:{entry.Key}:"));
            sha.AppendData(entry.Value ?? []);
            switch (Decode(entry, purposes, out var userId, out var consent))
            {
                case KvChange.Removed:
                    users.Remove(userId);
                    break;
                case KvChange.Put or KvChange.Unreadable:
                    users[userId] = consent;
                    break;
            }

            if (entry.Delta == 0)
            {
                break;
            }
        }

        var info = new SnapshotInfo($"nats-kv:{bucket}", Convert.ToHexStringLower(sha.GetHashAndReset()), users.Count, entries, 0, asOf);
        var snapshot = new ConsentSnapshot(users, [.. purposes], info);
        return CompiledSnapshotBuilder.Build(snapshot, path, source);
    }
}
