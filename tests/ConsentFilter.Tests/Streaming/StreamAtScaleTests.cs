using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Streaming;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Xunit.Abstractions;

namespace ConsentFilter.Tests.Streaming;

/// <summary>
/// The stream worker at scale and under faults, against a real <c>nats-server -js</c>: two workers on 100,000 records,
/// a revocation while records flow, and a server restart mid-stream. Every input is accounted for by record id.
/// </summary>
public sealed class StreamAtScaleTests(NatsServer server, ITestOutputHelper output) : IClassFixture<NatsServer>
{
    private static readonly JurisdictionTable s_table = JurisdictionTable.Load("code,regime\n*,opt-out\n"u8, "test-table");
    private static readonly string[] s_purposes = ["ai_training"];

    [NatsFact]
    public async Task TwoWorkers_100kRecords_EveryInputAccountedForExactlyOnce()
    {
        const int total = 100_000;
        await using var admin = await ConnectAsync(server.Url);
        var names = await SetUpAsync(admin, "scale");
        await PutAsync(admin, names.Bucket, "alice", "granted");
        await PutAsync(admin, names.Bucket, "bob", "denied");
        var clock = Stopwatch.StartNew();
        var records = Records(0, total);
        await PublishAsync(admin, names.InputSubject, records);
        var published = clock.Elapsed;

        await using var a = await ConnectAsync(server.Url);
        await using var b = await ConnectAsync(server.Url);
        await using var snapshotA = KvConsentSnapshot.Start(a, names.Bucket, s_purposes);
        await using var snapshotB = KvConsentSnapshot.Start(b, names.Bucket, s_purposes);
        var workerA = new StreamFilterWorker(a, Policy(snapshotA), names.Options());
        var workerB = new StreamFilterWorker(b, Policy(snapshotB), names.Options());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        clock.Restart();
        var runs = Task.WhenAll(workerA.RunAsync(cts.Token), workerB.RunAsync(cts.Token));
        await WaitDrainedAsync(admin, names, () => runs.IsFaulted, cts.Token);
        var filtered = clock.Elapsed;
        await cts.CancelAsync();
        await runs;
        output.WriteLine($"published {total:N0} in {published.TotalSeconds:F2} s; two workers drained them in {filtered.TotalSeconds:F2} s " +
                         $"({total / filtered.TotalSeconds:N0} records/s); A {workerA.Counts.Records:N0}, B {workerB.Counts.Records:N0}");

        Assert.True(workerA.Counts.Records > 0 && workerB.Counts.Records > 0, $"A {workerA.Counts.Records}, B {workerB.Counts.Records}");
        await AssertAccountedAsync(admin, names, records, [workerA.Counts, workerB.Counts], expectNoDuplicates: true);
    }

    [NatsFact]
    public async Task RevocationMidStream_NoRecordOfTheUserDecidedAfterItWasAppliedIsPublished()
    {
        await using var admin = await ConnectAsync(server.Url);
        var names = await SetUpAsync(admin, "revokemid");
        await PutAsync(admin, names.Bucket, "alice", "granted");
        await PutAsync(admin, names.Bucket, "bob", "granted");
        await using var nats = await ConnectAsync(server.Url);
        await using var kv = KvConsentSnapshot.Start(nats, names.Bucket, s_purposes);
        await kv.WaitLoadedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        var watched = new WatchingSnapshot(kv, "alice"u8.ToArray());
        var worker = new StreamFilterWorker(nats, Policy(watched), names.Options());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = worker.RunAsync(cts.Token);

        // Records for alice and bob keep arriving while alice revokes.
        using var stopPublishing = new CancellationTokenSource();
        var next = 0;
        var publisher = Task.Run(async () =>
        {
            var js = admin.CreateJetStreamContext();
            while (!stopPublishing.IsCancellationRequested)
            {
                var batch = Enumerable.Range(next, 64).Select(i => js.PublishAsync(names.InputSubject, Record(i, i % 2 == 0 ? "alice" : "bob")).AsTask());
                foreach (var ack in await Task.WhenAll(batch))
                {
                    ack.EnsureSuccess();
                }

                next += 64;
            }
        });
        await WaitUntilAsync(() => worker.Counts.Kept >= 3000, cts.Token);

        var store = await admin.CreateKeyValueStoreContext().GetStoreAsync(names.Bucket);
        var put = Stopwatch.GetTimestamp();
        var revision = await store.PutAsync(ConsentKv.EncodeKey("alice"u8), ConsentKv.EncodeValue(Consent("opt_out"), s_purposes), cancellationToken: cts.Token);
        var putReturned = Stopwatch.GetTimestamp();
        while (kv.Revision < revision)
        {
            cts.Token.ThrowIfCancellationRequested();
            await Task.Yield();
        }

        var applied = Stopwatch.GetTimestamp();

        // Every input after this sequence was published after the revocation was applied, so was decided after it.
        var appliedAtSequence = (await admin.CreateJetStreamContext().GetStreamAsync(names.InputStream, cancellationToken: cts.Token)).Info.State.LastSeq;
        var keptAtRevocation = worker.Counts.Kept;
        await WaitUntilAsync(() => worker.Counts.Kept >= keptAtRevocation + 2000, cts.Token);
        await stopPublishing.CancelAsync();
        await publisher;
        await WaitDrainedAsync(admin, names, () => run.IsFaulted, cts.Token);
        await cts.CancelAsync();
        await run;

        var firstHonoured = Interlocked.Read(ref watched.FirstRevokedLookup);
        var lastGranted = Interlocked.Read(ref watched.LastGrantedLookup);
        Assert.True(firstHonoured > 0, "no decision for alice saw the revocation");
        output.WriteLine($"KV put → put acked {Stopwatch.GetElapsedTime(put, putReturned).TotalMilliseconds:F2} ms, → snapshot applied (observed) " +
                         $"{Stopwatch.GetElapsedTime(put, applied).TotalMilliseconds:F2} ms, → first decision honouring it " +
                         $"{Stopwatch.GetElapsedTime(put, firstHonoured).TotalMilliseconds:F2} ms; last decision still granted " +
                         $"{Stopwatch.GetElapsedTime(put, lastGranted).TotalMilliseconds:F2} ms after the put; {next:N0} records published");
        Assert.True(lastGranted < applied, "a decision granted alice after the revocation was applied");
        Assert.True(Stopwatch.GetElapsedTime(put, firstHonoured) < TimeSpan.FromSeconds(5));

        var leaked = 0;
        foreach (var (msgId, body) in await ReadOutputAsync(admin, names.OutputStream))
        {
            var sequence = ulong.Parse(msgId[(msgId.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
            if (body.Contains("\"alice\"", StringComparison.Ordinal) && sequence > appliedAtSequence)
            {
                leaked++;
            }
        }

        var input = await admin.CreateJetStreamContext().GetStreamAsync(names.InputStream);
        var aliceAfter = (int)(input.Info.State.LastSeq - appliedAtSequence) / 2;
        Assert.True(aliceAfter > 500, $"only ~{aliceAfter} records of alice arrived after the revocation");
        Assert.Equal(0, leaked);
        Assert.True(worker.Counts.DroppedFor(DropReason.OptedOut) >= aliceAfter);
    }

    [NatsFact]
    public Task ServerStoppedCleanlyAndRestartedMidStream_RunResumesWithoutLossOrLeak() => RestartMidStreamAsync(kill: false);

    [NatsFact]
    public Task ServerKilledAndRestartedMidStream_RunResumesWithoutLossOrLeak() => RestartMidStreamAsync(kill: true);

    /// <summary>30,000 records, the server stopped (SIGTERM or SIGKILL) after a third and restarted on the same port and store.</summary>
    private async Task RestartMidStreamAsync(bool kill)
    {
        const int total = 30_000;
        using var own = new NatsServer();
        await using var admin = await ConnectAsync(own.Url);
        var names = await SetUpAsync(admin, "restart");
        await PutAsync(admin, names.Bucket, "alice", "granted");
        await PutAsync(admin, names.Bucket, "bob", "denied");
        var records = Records(0, total);
        await PublishAsync(admin, names.InputSubject, records);
        var options = names.Options();
        options.AckWait = TimeSpan.FromSeconds(2);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        var workers = new List<(NatsConnection Connection, KvConsentSnapshot Snapshot, StreamFilterWorker Worker, Task Run)>();
        async Task StartWorkerAsync()
        {
            var connection = await ConnectAsync(own.Url);
            var snapshot = KvConsentSnapshot.Start(connection, names.Bucket, s_purposes, waitForBucket: true);
            var worker = new StreamFilterWorker(connection, Policy(snapshot), options);
            workers.Add((connection, snapshot, worker, worker.RunAsync(cts.Token)));
        }

        await StartWorkerAsync();
        await WaitUntilAsync(() => workers[0].Worker.Counts.Records >= total / 3, cts.Token);
        var clock = Stopwatch.StartNew();
        own.Restart(kill);
        output.WriteLine($"server {(kill ? "killed" : "stopped")} and restarted after {workers[0].Worker.Counts.Records:N0} records ({clock.ElapsedMilliseconds} ms)");

        // NATS.Net reconnects; a worker that fails closed instead (a publish or the watch failed) is replaced.
        var drained = false;
        while (!drained)
        {
            cts.Token.ThrowIfCancellationRequested();
            if (workers[^1].Run.IsCompleted)
            {
                var failure = workers[^1].Run.Exception?.GetBaseException();
                output.WriteLine($"worker {workers.Count} stopped after {workers[^1].Worker.Counts.Records:N0} records: {failure?.GetType().Name}: {failure?.Message}");
                await StartWorkerAsync();
            }

            try
            {
                var consumer = await admin.CreateJetStreamContext().GetConsumerAsync(names.InputStream, options.Durable, cts.Token);
                drained = consumer.Info is { NumPending: 0, NumAckPending: 0 } && consumer.Info.AckFloor.StreamSeq >= (ulong)total;
            }
            catch (Exception e) when ((e is NatsException or TimeoutException) && !cts.IsCancellationRequested)
            {
                // The server is still coming back.
            }

            await Task.Delay(20, CancellationToken.None);
        }

        output.WriteLine($"drained {clock.ElapsedMilliseconds} ms after the restart with {workers.Count} worker(s)");
        await cts.CancelAsync();
        foreach (var (connection, snapshot, _, run) in workers)
        {
            try
            {
                await run;
            }
            catch (Exception e) when (e is NatsException or OperationCanceledException or InvalidOperationException or TimeoutException)
            {
            }

            await snapshot.DisposeAsync();
            await connection.DisposeAsync();
        }

        await AssertAccountedAsync(admin, names, records, [.. workers.Select(w => w.Worker.Counts)], expectNoDuplicates: false);
    }

    /// <summary>Kept ids exactly once in the output, malformed ids exactly once in quarantine, dropped ids nowhere.</summary>
    private async Task AssertAccountedAsync(INatsConnection admin, Names names, IReadOnlyList<byte[]> records, IReadOnlyList<StreamCounts> counts, bool expectNoDuplicates)
    {
        var keptIds = new HashSet<int>();
        var droppedIds = new HashSet<int>();
        var malformedIds = new HashSet<int>();
        for (var i = 0; i < records.Count; i++)
        {
            switch (i % 97 == 0 ? "bad" : User(i))
            {
                case "alice":
                    keptIds.Add(i);
                    break;
                case "bad":
                    malformedIds.Add(i);
                    break;
                default:
                    droppedIds.Add(i);
                    break;
            }
        }

        var seen = new HashSet<int>();
        foreach (var (_, body) in await ReadOutputAsync(admin, names.OutputStream))
        {
            using var json = JsonDocument.Parse(body);
            var id = json.RootElement.GetProperty("id").GetInt32();
            Assert.True(seen.Add(id), $"record {id} published twice");
            Assert.False(droppedIds.Contains(id), $"record {id} of a denied or unknown user was published");
        }

        Assert.True(keptIds.SetEquals(seen), $"kept: expected {keptIds.Count:N0}, published {seen.Count:N0}");
        var quarantined = new HashSet<int>();
        foreach (var (_, body) in await ReadOutputAsync(admin, names.QuarantineStream))
        {
            // raw is the malformed line itself: {"id":N,
            using var json = JsonDocument.Parse(body);
            var raw = json.RootElement.GetProperty("raw").GetString()!;
            var id = int.Parse(raw.AsSpan(6, raw.Length - 7), CultureInfo.InvariantCulture);
            Assert.True(quarantined.Add(id), $"malformed record {id} quarantined twice");
        }

        Assert.True(malformedIds.SetEquals(quarantined), $"quarantined: expected {malformedIds.Count}, got {quarantined.Count}");
        var decided = counts.Sum(c => c.Records);
        var dropped = counts.Sum(c => c.Dropped);
        output.WriteLine($"kept {keptIds.Count:N0}, dropped {droppedIds.Count:N0}, quarantined {quarantined.Count:N0}; workers decided {decided:N0} " +
                         $"(dropped {dropped:N0}, duplicates suppressed {counts.Sum(c => c.Duplicates):N0})");
        if (expectNoDuplicates)
        {
            Assert.Equal(records.Count, decided);
            Assert.Equal(droppedIds.Count, dropped);
        }
        else
        {
            // Redelivered inputs are decided again; the output stream's duplicate window absorbs the republishes.
            Assert.True(decided >= records.Count, $"workers acked {decided} of {records.Count}");
            Assert.True(dropped >= droppedIds.Count);
        }
    }

    private static string User(int i) => (i % 5) switch
    {
        0 or 1 or 2 => "alice",
        3 => "bob",
        _ => "carol",
    };

    private static byte[] Record(int i, string user) => Encoding.UTF8.GetBytes($$"""{"id":{{i}},"user_id":"{{user}}"}""");

    /// <summary>Record i: malformed every 97th, else alice (granted, 3 in 5), bob (denied) or carol (unknown).</summary>
    private static byte[][] Records(int from, int count) =>
        [.. Enumerable.Range(from, count).Select(i => i % 97 == 0 ? Encoding.UTF8.GetBytes($$"""{"id":{{i}},""") : Record(i, User(i)))];

    private static UserConsent Consent(string state)
    {
        Assert.True(ConsentValues.TryParseState(state, out var parsed));
        return new UserConsent(PurposeStates.AllUnset.With(0, parsed), false, false, []);
    }

    private static ConsentPolicy Policy(IConsentSnapshot snapshot) => new(snapshot, s_table, "ai_training");

    private static async Task<NatsConnection> ConnectAsync(string url)
    {
        var connection = new NatsConnection(new NatsOpts { Url = url, Name = "consentfilter-scale-tests", ReconnectWaitMin = TimeSpan.FromMilliseconds(50), ReconnectWaitMax = TimeSpan.FromMilliseconds(500) });
        await connection.ConnectAsync();
        return connection;
    }

    private static async Task<Names> SetUpAsync(INatsConnection nats, string name)
    {
        var names = new Names(name);
        var js = nats.CreateJetStreamContext();
        await js.CreateOrUpdateStreamAsync(new StreamConfig(names.InputStream, [$"in.{name}.>"]));
        await js.CreateOrUpdateStreamAsync(new StreamConfig(names.OutputStream, [$"out.{name}"]) { DuplicateWindow = TimeSpan.FromMinutes(2) });
        await js.CreateOrUpdateStreamAsync(new StreamConfig(names.QuarantineStream, [$"quarantine.{name}"]) { DuplicateWindow = TimeSpan.FromMinutes(2) });
        await nats.CreateKeyValueStoreContext().CreateStoreAsync(new NatsKVConfig(names.Bucket));
        return names;
    }

    private static async Task PutAsync(INatsConnection nats, string bucket, string user, string state)
    {
        var store = await nats.CreateKeyValueStoreContext().GetStoreAsync(bucket);
        await store.PutAsync(ConsentKv.EncodeKey(Encoding.UTF8.GetBytes(user)), ConsentKv.EncodeValue(Consent(state), s_purposes));
    }

    /// <summary>Publishes with up to 1,024 acks awaited at a time.</summary>
    private static async Task PublishAsync(INatsConnection nats, string subject, IReadOnlyList<byte[]> records)
    {
        var js = nats.CreateJetStreamContext();
        for (var i = 0; i < records.Count; i += 1024)
        {
            var batch = records.Skip(i).Take(1024).Select(r => js.PublishAsync(subject, r).AsTask());
            foreach (var ack in await Task.WhenAll(batch))
            {
                ack.EnsureSuccess();
            }
        }
    }

    /// <summary>Every message of a stream as (Nats-Msg-Id, body).</summary>
    private static async Task<List<(string MsgId, string Body)>> ReadOutputAsync(INatsConnection nats, string stream)
    {
        var js = nats.CreateJetStreamContext();
        var count = (long)(await js.GetStreamAsync(stream)).Info.State.Messages;
        var result = new List<(string, string)>((int)count);
        if (count == 0)
        {
            return result;
        }

        var consumer = await js.CreateOrderedConsumerAsync(stream);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = 4096 }, cancellationToken: cts.Token))
        {
            var id = msg.Headers is { } headers && headers.TryGetValue("Nats-Msg-Id", out var value) ? value.ToString() : string.Empty;
            result.Add((id, Encoding.UTF8.GetString(msg.Data ?? [])));
            if (result.Count == count)
            {
                break;
            }
        }

        return result;
    }

    private static async Task WaitDrainedAsync(INatsConnection admin, Names names, Func<bool> failed, CancellationToken cancellationToken)
    {
        var js = admin.CreateJetStreamContext();
        while (true)
        {
            Assert.False(failed(), "a worker failed");
            INatsJSConsumer consumer;
            try
            {
                consumer = await js.GetConsumerAsync(names.InputStream, "workers", cancellationToken);
            }
            catch (NatsJSApiException e) when (e.Error.Code == 404)
            {
                // The workers have not created it yet.
                await Task.Delay(20, cancellationToken);
                continue;
            }

            var stream = await js.GetStreamAsync(names.InputStream, cancellationToken: cancellationToken);
            if (consumer.Info is { NumPending: 0, NumAckPending: 0 } && consumer.Info.AckFloor.StreamSeq >= stream.Info.State.LastSeq)
            {
                return;
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(2, cancellationToken);
        }
    }

    /// <summary>Records, for one user, the last lookup that still granted and the first that saw a denial (Stopwatch timestamps).</summary>
    private sealed class WatchingSnapshot(IConsentSnapshot inner, byte[] user) : IConsentSnapshot
    {
        public long FirstRevokedLookup;
        public long LastGrantedLookup;

        public SnapshotInfo Info => inner.Info;

        public IReadOnlyList<string> Purposes => inner.Purposes;

        public bool TryGetUser(ReadOnlySpan<byte> userId, out UserConsent consent)
        {
            var found = inner.TryGetUser(userId, out consent);
            if (found && userId.SequenceEqual(user))
            {
                var now = Stopwatch.GetTimestamp();
                if (consent.States[0] == ConsentState.Granted)
                {
                    Interlocked.Exchange(ref LastGrantedLookup, now);
                }
                else
                {
                    Interlocked.CompareExchange(ref FirstRevokedLookup, now, 0);
                }
            }

            return found;
        }
    }

    private sealed record Names(string Name)
    {
        public string InputStream => $"IN_{Name}";

        public string InputSubject => $"in.{Name}.records";

        public string OutputStream => $"OUT_{Name}";

        public string QuarantineStream => $"Q_{Name}";

        public string Bucket => $"consent_{Name}";

        public StreamFilterOptions Options() => new()
        {
            InputStream = InputStream,
            InputSubject = $"in.{Name}.>",
            OutputSubject = $"out.{Name}",
            QuarantineSubject = $"quarantine.{Name}",
            Durable = "workers",
        };
    }
}
