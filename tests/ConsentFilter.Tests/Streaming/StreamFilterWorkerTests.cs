using System.Diagnostics;
using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Records;
using ConsentFilter.Streaming;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Xunit.Abstractions;

namespace ConsentFilter.Tests.Streaming;

/// <summary>The stream worker and the key-value snapshot against a real <c>nats-server -js</c> started for this class.</summary>
public sealed class StreamFilterWorkerTests(NatsServer server, ITestOutputHelper output) : IClassFixture<NatsServer>
{
    private static readonly JurisdictionTable s_table = JurisdictionTable.Load("code,regime\n*,opt-out\nFR,opt-in\nKP,excluded\n"u8, "test-table");
    private static readonly string[] s_purposes = ["ai_training"];

    [NatsFact]
    public async Task RunAsync_MixedRecords_KeptInOrderDroppedAbsentMalformedQuarantined()
    {
        await using var nats = await ConnectAsync();
        var names = await SetUpAsync(nats, "mixed");
        await PutAsync(nats, names.Bucket, "alice", "granted");
        await PutAsync(nats, names.Bucket, "bob", "denied");
        await using var snapshot = KvConsentSnapshot.Start(nats, names.Bucket, s_purposes);
        var worker = new StreamFilterWorker(nats, Policy(snapshot), names.Options());

        string[] records =
        [
            """{"id":1,"user_id":"alice","text":"a"}""",
            """{"id":2,"user_id":"bob"}""",
            """{"id":3,"user_id":"nobody"}""",
            """{"id":4,"user_id":"alice","region":"KP"}""",
            """{"id":5,"user_id":"alice","region":"de"}""",
            """{"id":6,"user_id":"alice",""",
            """{"id":7}""",
            "   ",
            """{"id":8,"user_id":"alice"}""" + "\n",
        ];
        await PublishRecordsAsync(nats, names.InputSubject, records);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var run = worker.RunAsync(cts.Token);
        await WaitUntilAsync(() => worker.Counts.Records + worker.Counts.Blank == records.Length, cts.Token);
        await cts.CancelAsync();
        await run;

        Assert.Equal(
            ["""{"id":1,"user_id":"alice","text":"a"}""", """{"id":5,"user_id":"alice","region":"de"}""", """{"id":8,"user_id":"alice"}"""],
            await ReadStreamAsync(nats, names.OutputStream));
        var quarantine = await ReadStreamAsync(nats, names.QuarantineStream);
        Assert.Equal(2, quarantine.Count);
        Assert.Contains("\"error\":\"invalid_json\"", quarantine[0], StringComparison.Ordinal);
        Assert.Contains($"\"stream\":\"{names.InputStream}\",\"seq\":6", quarantine[0], StringComparison.Ordinal);
        Assert.Contains("\"error\":\"missing_user_id\"", quarantine[1], StringComparison.Ordinal);

        var counts = worker.Counts;
        Assert.Equal(8, counts.Records);
        Assert.Equal(1, counts.Blank);
        Assert.Equal(3, counts.Kept);
        Assert.Equal(1, counts.DroppedFor(DropReason.OptedOut));
        Assert.Equal(1, counts.DroppedFor(DropReason.UnknownUser));
        Assert.Equal(1, counts.DroppedFor(DropReason.RegionExcluded));
        Assert.Equal(2, counts.Quarantined);
        Assert.Equal(counts.Records, counts.Kept + counts.Dropped + counts.Quarantined);
    }

    [NatsFact]
    public async Task RunAsync_OptOutWrittenToBucket_HonouredForRecordsDecidedAfterwards()
    {
        await using var nats = await ConnectAsync();
        var names = await SetUpAsync(nats, "revoke");
        await PutAsync(nats, names.Bucket, "alice", "granted");
        await using var snapshot = KvConsentSnapshot.Start(nats, names.Bucket, s_purposes);
        var worker = new StreamFilterWorker(nats, Policy(snapshot), names.Options());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var run = worker.RunAsync(cts.Token);

        await PublishRecordsAsync(nats, names.InputSubject, [.. Enumerable.Range(0, 50).Select(i => $$"""{"id":{{i}},"user_id":"alice"}""")]);
        await WaitUntilAsync(() => worker.Counts.Records == 50, cts.Token);
        Assert.Equal(50, worker.Counts.Kept);

        var revoked = Stopwatch.StartNew();
        await PutAsync(nats, names.Bucket, "alice", "opt_out");
        await WaitUntilAsync(() => !Policy(snapshot).Decide("alice"u8, null).IsAllowed, cts.Token);
        output.WriteLine($"KV put → snapshot honours the opt-out: {revoked.Elapsed.TotalMilliseconds:F1} ms");

        await PublishRecordsAsync(nats, names.InputSubject, [.. Enumerable.Range(50, 50).Select(i => $$"""{"id":{{i}},"user_id":"alice"}""")]);
        await WaitUntilAsync(() => worker.Counts.Records == 100, cts.Token);
        await cts.CancelAsync();
        await run;

        Assert.Equal(50, worker.Counts.Kept);
        Assert.Equal(50, worker.Counts.DroppedFor(DropReason.OptedOut));
        Assert.Equal(50, (await ReadStreamAsync(nats, names.OutputStream)).Count);

        // A deleted key removes the user: unknown from then on.
        var store = await nats.CreateKeyValueStoreContext().GetStoreAsync(names.Bucket);
        await store.DeleteAsync(ConsentKv.EncodeKey("alice"u8));
        await WaitUntilAsync(() => Policy(snapshot).Decide("alice"u8, null).Reason == DropReason.UnknownUser, CancellationToken.None);
    }

    [NatsFact]
    public async Task RunAsync_BeforeInitialLoad_DecidesNothing()
    {
        await using var nats = await ConnectAsync();
        var names = await SetUpAsync(nats, "preload", createBucket: false);
        await using var snapshot = KvConsentSnapshot.Start(nats, names.Bucket, s_purposes, waitForBucket: true);
        var policy = Policy(snapshot);
        var worker = new StreamFilterWorker(nats, policy, names.Options());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var run = worker.RunAsync(cts.Token);
        await PublishRecordsAsync(nats, names.InputSubject, [.. Enumerable.Range(0, 20).Select(i => $$"""{"id":{{i}},"user_id":"alice"}""")]);

        await Task.Delay(700, cts.Token);
        Assert.False(snapshot.IsLoaded);
        Assert.Throws<InvalidOperationException>(() => policy.Decide("alice"u8, null));
        Assert.Equal(0, worker.Counts.Records);
        Assert.Empty(await ReadStreamAsync(nats, names.OutputStream));

        var store = await nats.CreateKeyValueStoreContext().CreateStoreAsync(new NatsKVConfig(names.Bucket));
        await store.PutAsync(ConsentKv.EncodeKey("alice"u8), ConsentKv.EncodeValue(Consent("granted"), s_purposes));
        await WaitUntilAsync(() => worker.Counts.Records == 20, cts.Token);
        await cts.CancelAsync();
        await run;
        Assert.Equal(20, worker.Counts.Kept);
    }

    [NatsFact]
    public async Task RunAsync_WorkerKilledMidStreamAndRestarted_NoKeptRecordLostOrDuplicated()
    {
        await using var admin = await ConnectAsync();
        var names = await SetUpAsync(admin, "crash");
        await PutAsync(admin, names.Bucket, "alice", "granted");
        await PutAsync(admin, names.Bucket, "bob", "denied");
        const int total = 3000;
        var records = Enumerable.Range(0, total).Select(i => $$"""{"id":{{i}},"user_id":"{{(i % 3 == 0 ? "bob" : "alice")}}"}""").ToArray();
        await PublishRecordsAsync(admin, names.InputSubject, records);
        var options = names.Options();
        options.AckWait = TimeSpan.FromSeconds(1);

        // First worker: its connection is torn down mid-stream, publishes and acks in flight are lost.
        var first = await ConnectAsync();
        var snapshot1 = KvConsentSnapshot.Start(first, names.Bucket, s_purposes);
        var worker1 = new StreamFilterWorker(first, Policy(snapshot1), options);
        using var cts1 = new CancellationTokenSource();
        var run1 = worker1.RunAsync(cts1.Token);
        await WaitUntilAsync(() => worker1.Counts.Records >= total / 3, CancellationToken.None);
        await first.DisposeAsync();
        await cts1.CancelAsync();
        try
        {
            await run1;
        }
        catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException or NatsException)
        {
            output.WriteLine($"worker 1 stopped: {e.GetType().Name}");
        }

        await snapshot1.DisposeAsync();

        // Under load the first worker may have got further than a third before the teardown; what matters below holds either way.

        // Restarted worker: redelivered inputs are decided again; republished kept records are duplicates the stream drops.
        await using var second = await ConnectAsync();
        await using var snapshot2 = KvConsentSnapshot.Start(second, names.Bucket, s_purposes);
        var worker2 = new StreamFilterWorker(second, Policy(snapshot2), options);
        using var cts2 = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var run2 = worker2.RunAsync(cts2.Token);
        var consumer = await admin.CreateJetStreamContext().GetConsumerAsync(names.InputStream, options.Durable);
        await WaitUntilAsync(
            async () =>
            {
                await consumer.RefreshAsync();
                return run2.IsFaulted || consumer.Info.NumPending == 0 && consumer.Info.NumAckPending == 0;
            },
            cts2.Token);
        await cts2.CancelAsync();
        await run2;
        // Whether any republish was suppressed depends on timing (acks in flight at the teardown); correctness does not.
        output.WriteLine($"duplicates suppressed on restart: {worker2.Counts.Duplicates}");

        var expected = records.Where(r => r.Contains("alice", StringComparison.Ordinal)).ToList();
        // Every kept record exactly once; redelivered ones land after those published meanwhile (order holds only without redelivery).
        var published = await ReadStreamAsync(admin, names.OutputStream);
        Assert.Equal(expected.Count, published.Count);
        Assert.Equal(expected.Order(StringComparer.Ordinal), published.Order(StringComparer.Ordinal));
        Assert.True(worker1.Counts.Records + worker2.Counts.Records >= total);
        output.WriteLine($"worker 1 acked {worker1.Counts.Records}, worker 2 acked {worker2.Counts.Records}, duplicates suppressed {worker2.Counts.Duplicates}");
    }

    [NatsFact]
    public async Task RunAsync_InputStreamRecreatedWithinDuplicateWindow_NewRecordWithReusedSequenceIsPublished()
    {
        await using var nats = await ConnectAsync();
        var names = await SetUpAsync(nats, "recreate");
        await PutAsync(nats, names.Bucket, "alice", "granted");
        await using var snapshot = KvConsentSnapshot.Start(nats, names.Bucket, s_purposes);
        var options = names.Options();
        options.AckWait = TimeSpan.FromSeconds(1);
        var js = nats.CreateJetStreamContext();
        const string recordA = """{"id":"A","user_id":"alice"}""";
        const string recordB = """{"id":"B","user_id":"alice"}""";

        var first = new StreamFilterWorker(nats, Policy(snapshot), options);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run1 = first.RunAsync(cts.Token);
        Assert.Equal(1UL, (await js.PublishAsync(names.InputSubject, Encoding.UTF8.GetBytes(recordA), cancellationToken: cts.Token)).Seq);
        await WaitUntilAsync(() => first.Counts.Kept == 1, cts.Token);

        // Deleted and recreated (its consumer dies with it): sequences restart, the output stream's 2 min window still holds A's id.
        await js.DeleteStreamAsync(names.InputStream, cts.Token);
        await js.CreateStreamAsync(new StreamConfig(names.InputStream, [$"in.{names.Name}.>"]), cts.Token);
        Assert.Equal(1UL, (await js.PublishAsync(names.InputSubject, Encoding.UTF8.GetBytes(recordB), cancellationToken: cts.Token)).Seq);

        // The first worker stops (its consumer was deleted) or, should it still pull, refuses to ack B on a duplicate;
        // a worker started now, as a supervisor would, reads the new stream's creation time.
        var second = new StreamFilterWorker(nats, Policy(snapshot), options);
        var run2 = second.RunAsync(cts.Token);
        await WaitUntilAsync(() => first.Counts.Records + second.Counts.Records == 2 || run2.IsCompleted, cts.Token);
        await cts.CancelAsync();
        await run2;
        try
        {
            await run1;
        }
        catch (Exception e) when (e is NatsJSException or InvalidOperationException)
        {
            output.WriteLine($"first worker stopped: {e.Message}");
        }

        Assert.Equal([recordA, recordB], await ReadStreamAsync(nats, names.OutputStream));
        Assert.Equal(0, first.Counts.Duplicates + second.Counts.Duplicates);
        Assert.Equal(2, first.Counts.Kept + second.Counts.Kept);
    }

    [NatsFact]
    public async Task InputStreamIdentity_SameStreamReadTwice_SameIdRecreated_NewIdAndVerifyThrows()
    {
        await using var nats = await ConnectAsync();
        var names = await SetUpAsync(nats, "identity", createBucket: false);
        var js = nats.CreateJetStreamContext();
        var before = await InputStreamIdentity.ReadAsync(js, names.InputStream, CancellationToken.None);
        var again = await InputStreamIdentity.ReadAsync(js, names.InputStream, CancellationToken.None);
        Assert.Equal(before.MessageId(7), again.MessageId(7));
        Assert.StartsWith($"{names.InputStream}:", before.MessageId(7), StringComparison.Ordinal);
        Assert.EndsWith(":7", before.MessageId(7), StringComparison.Ordinal);
        await before.VerifyAsync(before.Received(), 7, CancellationToken.None);

        await js.DeleteStreamAsync(names.InputStream);
        var deleted = await Assert.ThrowsAsync<InvalidOperationException>(async () => await before.VerifyAsync(before.Received(), 8, CancellationToken.None));
        Assert.Contains("deleted", deleted.Message, StringComparison.Ordinal);

        await Task.Delay(5);
        await js.CreateStreamAsync(new StreamConfig(names.InputStream, [$"in.{names.Name}.>"]));
        var after = await InputStreamIdentity.ReadAsync(js, names.InputStream, CancellationToken.None);
        Assert.NotEqual(before.MessageId(7), after.MessageId(7));
        var recreated = await Assert.ThrowsAsync<InvalidOperationException>(async () => await again.VerifyAsync(again.Received(), 7, CancellationToken.None));
        Assert.Contains("recreated", recreated.Message, StringComparison.Ordinal);
        await after.VerifyAsync(after.Received(), 7, CancellationToken.None);
    }

    [NatsFact]
    public async Task RunAsync_TwoWorkersOnOneDurable_EachRecordDecidedOnce()
    {
        await using var nats = await ConnectAsync();
        var names = await SetUpAsync(nats, "two");
        await PutAsync(nats, names.Bucket, "alice", "granted");
        await PutAsync(nats, names.Bucket, "bob", "denied");
        const int total = 4000;
        var records = Enumerable.Range(0, total).Select(i => i % 97 == 0 ? "{bad" : $$"""{"id":{{i}},"user_id":"{{(i % 2 == 0 ? "bob" : "alice")}}"}""").ToArray();
        await PublishRecordsAsync(nats, names.InputSubject, records);

        await using var a = await ConnectAsync();
        await using var b = await ConnectAsync();
        await using var snapshotA = KvConsentSnapshot.Start(a, names.Bucket, s_purposes);
        await using var snapshotB = KvConsentSnapshot.Start(b, names.Bucket, s_purposes);
        var workerA = new StreamFilterWorker(a, Policy(snapshotA), names.Options());
        var workerB = new StreamFilterWorker(b, Policy(snapshotB), names.Options());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var runs = Task.WhenAll(workerA.RunAsync(cts.Token), workerB.RunAsync(cts.Token));
        await WaitUntilAsync(() => workerA.Counts.Records + workerB.Counts.Records >= total, cts.Token);
        await Task.Delay(200, cts.Token);
        await cts.CancelAsync();
        await runs;

        Assert.Equal(total, workerA.Counts.Records + workerB.Counts.Records);
        Assert.True(workerA.Counts.Records > 0 && workerB.Counts.Records > 0, $"A {workerA.Counts.Records}, B {workerB.Counts.Records}");
        var expectedKept = records.Where(r => r.Contains("alice", StringComparison.Ordinal)).ToHashSet();
        var outputs = await ReadStreamAsync(nats, names.OutputStream);
        Assert.Equal(expectedKept.Count, outputs.Count);
        Assert.True(expectedKept.SetEquals(outputs));
        Assert.Equal(records.Count(r => r == "{bad"), (await ReadStreamAsync(nats, names.QuarantineStream)).Count);
        Assert.Equal(expectedKept.Count, workerA.Counts.Kept + workerB.Counts.Kept);
    }

    [NatsFact]
    public async Task PublishAsync_ConsentCsv_EveryUserInTheBucketDecidesLikeTheCsv()
    {
        using var dir = new Support.TempDirectory();
        var csv = dir.Write("consent.csv", "user_id,region,ai_training,gpc,minor\nalice,DE,granted,,\nbob,,denied,,\nbob,FR,,,\ncarol,US-CA,,true,\nd.ve/é,,yes,,\nminnie,,granted,,true\n");
        var source = ConsentSnapshot.LoadCsv(csv, s_purposes);
        await using var nats = await ConnectAsync();
        Assert.Equal(5, await ConsentKv.PublishAsync(nats, "publish", source));

        await using var snapshot = KvConsentSnapshot.Start(nats, "publish", s_purposes);
        await snapshot.WaitLoadedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        Assert.Equal(5, snapshot.Users);
        var fromCsv = Policy(source);
        var fromKv = Policy(snapshot);
        foreach (var user in new[] { "alice", "bob", "carol", "d.ve/é", "minnie", "nobody" })
        {
            foreach (var region in new[] { null, "FR", "KP", "US" })
            {
                var match = region is null ? (RegionMatch?)null : fromCsv.ResolveRegion(region);
                Assert.Equal(fromCsv.Decide(Encoding.UTF8.GetBytes(user), match), fromKv.Decide(Encoding.UTF8.GetBytes(user), match));
            }
        }
    }

    [NatsFact]
    public async Task Cli_SnapshotPublishThenStream_KeepsGrantedRecordsAndPrintsCounts()
    {
        using var dir = new Support.TempDirectory();
        var csv = dir.Write("consent.csv", "user_id,ai_training\nalice,granted\nbob,denied\n");
        var table = dir.Write("jurisdictions.csv", "*,opt-out\n");
        await using var nats = await ConnectAsync();
        var names = await SetUpAsync(nats, "cli", createBucket: false);
        using var publishOut = new StringWriter();
        using var publishErr = new StringWriter();
        Assert.Equal(0, await ConsentFilter.Cli.ConsoleApp.RunAsync(["snapshot", "publish", "--nats", server.Url, "--consent", csv, "--bucket", names.Bucket], publishOut, publishErr));
        Assert.Contains("2 users written", publishOut.ToString(), StringComparison.Ordinal);

        await PublishRecordsAsync(nats, names.InputSubject, ["""{"user_id":"alice"}""", """{"user_id":"bob"}""", "[1]"]);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var cts = new CancellationTokenSource();
        var run = ConsentFilter.Cli.ConsoleApp.RunAsync(
            ["stream", "--nats", server.Url, "--input", $"{names.InputStream}/in.cli.>", "--output", "out.cli", "--consent-kv", names.Bucket, "--quarantine-subject", "quarantine.cli", "--durable", "cli", "--jurisdictions", table],
            stdout,
            stderr,
            cts.Token);
        await WaitUntilAsync(
            async () =>
            {
                if (run.IsCompleted)
                {
                    return true;
                }

                try
                {
                    var consumer = await nats.CreateJetStreamContext().GetConsumerAsync(names.InputStream, "cli");
                    return consumer.Info.Delivered.StreamSeq == 3 && consumer.Info.NumAckPending == 0;
                }
                catch (NatsJSApiException)
                {
                    return false;
                }
            },
            CancellationToken.None);
        await Task.Delay(100);
        await cts.CancelAsync();
        Assert.True(0 == await run, stderr.ToString());
        Assert.Equal(["""{"user_id":"alice"}"""], await ReadStreamAsync(nats, names.OutputStream));
        Assert.Contains("\"records\":3,\"kept\":1", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void EncodeKey_AnyUserId_IsAValidNatsKeyAndRoundTrips()
    {
        foreach (var id in new[] { "alice", "a.b", "x/y z", "ü", "-", "42", new string('q', 300) })
        {
            var key = ConsentKv.EncodeKey(Encoding.UTF8.GetBytes(id));
            Assert.Matches("^[-_A-Za-z0-9]+$", key);
            Assert.True(ConsentKv.TryDecodeKey(key, out var back));
            Assert.Equal(id, Encoding.UTF8.GetString(back));
        }

        Assert.False(ConsentKv.TryDecodeKey("not.base64", out _));
    }

    [Fact]
    public void TryDecodeValue_UnreadableOrMissingPurpose_IsRejected()
    {
        Assert.True(ConsentKv.TryDecodeValue("""{"regions":["de"],"gpc":"yes","purposes":{"AI_TRAINING":"opt_in"}}"""u8, s_purposes, out var consent));
        Assert.Equal(ConsentState.Granted, consent.States[0]);
        Assert.True(consent.Gpc);
        Assert.Equal(["DE"], consent.HomeRegions);
        Assert.False(ConsentKv.TryDecodeValue("""{"purposes":{"marketing":"granted"}}"""u8, s_purposes, out _));
        Assert.False(ConsentKv.TryDecodeValue("""{"purposes":{"ai_training":"maybe"}}"""u8, s_purposes, out _));
        Assert.False(ConsentKv.TryDecodeValue("nope"u8, s_purposes, out _));
        Assert.Equal(ConsentState.Denied, ConsentKv.Unreadable(1).States[0]);
    }

    internal static UserConsent Consent(string state, string? region = null)
    {
        Assert.True(ConsentValues.TryParseState(state, out var parsed));
        return new UserConsent(PurposeStates.AllUnset.With(0, parsed), false, false, region is null ? [] : [region]);
    }

    private static ConsentPolicy Policy(IConsentSnapshot snapshot) => new(snapshot, s_table, "ai_training");

    private async Task<NatsConnection> ConnectAsync()
    {
        var connection = new NatsConnection(new NatsOpts { Url = server.Url, Name = "consentfilter-tests" });
        await connection.ConnectAsync();
        return connection;
    }

    private static async Task<Names> SetUpAsync(INatsConnection nats, string name, bool createBucket = true)
    {
        var names = new Names(name);
        var js = nats.CreateJetStreamContext();
        await js.CreateOrUpdateStreamAsync(new StreamConfig(names.InputStream, [$"in.{name}.>"]));
        await js.CreateOrUpdateStreamAsync(new StreamConfig(names.OutputStream, [$"out.{name}"]) { DuplicateWindow = TimeSpan.FromMinutes(2) });
        await js.CreateOrUpdateStreamAsync(new StreamConfig(names.QuarantineStream, [$"quarantine.{name}"]) { DuplicateWindow = TimeSpan.FromMinutes(2) });
        if (createBucket)
        {
            await nats.CreateKeyValueStoreContext().CreateStoreAsync(new NatsKVConfig(names.Bucket));
        }

        return names;
    }

    private static async Task PutAsync(INatsConnection nats, string bucket, string user, string state)
    {
        var store = await nats.CreateKeyValueStoreContext().GetStoreAsync(bucket);
        await store.PutAsync(ConsentKv.EncodeKey(Encoding.UTF8.GetBytes(user)), ConsentKv.EncodeValue(Consent(state), s_purposes));
    }

    private static async Task PublishRecordsAsync(INatsConnection nats, string subject, IReadOnlyList<string> records)
    {
        var js = nats.CreateJetStreamContext();
        for (var i = 0; i < records.Count; i += 256)
        {
            var batch = records.Skip(i).Take(256).Select(r => js.PublishAsync(subject, Encoding.UTF8.GetBytes(r)).AsTask());
            foreach (var ack in await Task.WhenAll(batch))
            {
                ack.EnsureSuccess();
            }
        }
    }

    /// <summary>Every message of a stream in stream order, as text.</summary>
    private static async Task<List<string>> ReadStreamAsync(INatsConnection nats, string stream)
    {
        var js = nats.CreateJetStreamContext();
        var info = await js.GetStreamAsync(stream);
        var count = (long)info.Info.State.Messages;
        var result = new List<string>();
        if (count == 0)
        {
            return result;
        }

        var consumer = await js.CreateOrderedConsumerAsync(stream);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var msg in consumer.ConsumeAsync<byte[]>(cancellationToken: cts.Token))
        {
            result.Add(Encoding.UTF8.GetString(msg.Data ?? []));
            if (result.Count == count)
            {
                break;
            }
        }

        return result;
    }

    private static Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken) =>
        WaitUntilAsync(() => Task.FromResult(condition()), cancellationToken);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            cancellationToken.ThrowIfCancellationRequested();
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "condition not met within 15 s");
            await Task.Delay(5, CancellationToken.None);
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
