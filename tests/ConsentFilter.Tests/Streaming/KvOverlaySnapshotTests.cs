using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Streaming;
using FsCheck;
using FsCheck.Fluent;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace ConsentFilter.Tests.Streaming;

/// <summary>A compiled base plus the bucket's later changes, against a real <c>nats-server -js</c>: same decisions as a full watch, or refused.</summary>
public sealed class KvOverlaySnapshotTests(NatsServer server) : IClassFixture<NatsServer>, IDisposable
{
    private static readonly JurisdictionTable s_table = JurisdictionTable.Load("code,regime\n*,opt-out\nFR,opt-in\nKP,excluded\n"u8, "test-table");
    private static readonly string[] s_purposes = ["ai_training"];
    private static readonly string[] s_states = ["granted", "denied", "unset", "opt_out"];
    private static int s_buckets;

    private readonly string _temp = Directory.CreateTempSubdirectory("cf-overlay-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [NatsFact]
    public async Task StartAsync_BaseFromBucketPlusLaterChanges_DecidesAsAFullWatch()
    {
        await using var nats = await ConnectAsync();
        var (bucket, store) = await CreateBucketAsync(nats);
        await PutAsync(store, "alice", "granted");
        await PutAsync(store, "bob", "granted");
        await PutAsync(store, "carol", "granted");
        await PutAsync(store, "dave", "granted", "FR");
        await PutAsync(store, "erin", "denied");
        await store.DeleteAsync(ConsentKv.EncodeKey("erin"u8));
        var path = Path.Combine(_temp, "bucket.snap");
        var summary = await ConsentKv.CompileAsync(nats, bucket, s_purposes, path);
        Assert.Equal(4, summary.Users);
        var built = summary.BucketSource!;

        // After the base: a revocation, a delete, a purge, a new user, an unreadable value, a re-grant, an overwrite.
        await PutAsync(store, "alice", "opt_out");
        await store.DeleteAsync(ConsentKv.EncodeKey("bob"u8));
        await store.PurgeAsync(ConsentKv.EncodeKey("carol"u8));
        await PutAsync(store, "frank", "granted");
        await store.PutAsync(ConsentKv.EncodeKey("gina"u8), "not json"u8.ToArray());
        await PutAsync(store, "erin", "granted");
        await PutAsync(store, "dave", "unset", "FR");
        await PutAsync(store, "dave", "granted", "FR");

        using var baseSnapshot = CompiledSnapshot.Open(path);
        Assert.Equal(built, baseSnapshot.BucketSource);
        await using var overlay = await KvOverlaySnapshot.StartAsync(nats, bucket, baseSnapshot, s_purposes);
        await using var full = KvConsentSnapshot.Start(nats, bucket, s_purposes);
        await overlay.WaitLoadedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await full.WaitLoadedAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(built.StreamSequence + 1, overlay.StartSequence);
        // Eight changes, seven entries: with history 1 dave's first overwrite is gone once the second lands.
        Assert.Equal(7, overlay.Updates);
        Assert.Equal(1, overlay.UnreadableValues);
        AssertSameDecisions(full, overlay, ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "nobody"]);
        Assert.Equal(DropReason.OptedOut, Policy(overlay).Decide("alice"u8, null).Reason);
        Assert.Equal(DropReason.UnknownUser, Policy(overlay).Decide("bob"u8, null).Reason);
        Assert.Equal(DropReason.UnknownUser, Policy(overlay).Decide("carol"u8, null).Reason);
        Assert.True(Policy(overlay).Decide("dave"u8, null).IsAllowed);
    }

    [NatsFact]
    public async Task StartAsync_RevocationAfterLoad_IsHonoured()
    {
        await using var nats = await ConnectAsync();
        var (bucket, store) = await CreateBucketAsync(nats);
        await PutAsync(store, "alice", "granted");
        await PutAsync(store, "bob", "granted");
        var path = Path.Combine(_temp, "revoke.snap");
        await ConsentKv.CompileAsync(nats, bucket, s_purposes, path);
        using var baseSnapshot = CompiledSnapshot.Open(path);
        await using var overlay = await KvOverlaySnapshot.StartAsync(nats, bucket, baseSnapshot, s_purposes);
        await overlay.WaitLoadedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, overlay.Updates);
        Assert.True(Policy(overlay).Decide("alice"u8, null).IsAllowed);

        await PutAsync(store, "alice", "opt_out");
        await store.DeleteAsync(ConsentKv.EncodeKey("bob"u8));
        await WaitUntilAsync(() => Policy(overlay).Decide("alice"u8, null).Reason == DropReason.OptedOut);
        await WaitUntilAsync(() => Policy(overlay).Decide("bob"u8, null).Reason == DropReason.UnknownUser);
    }

    [NatsFact]
    public async Task StartAsync_BeforeCaughtUp_DecidesNothing()
    {
        await using var nats = await ConnectAsync();
        var (bucket, store) = await CreateBucketAsync(nats);
        await PutAsync(store, "alice", "granted");
        var path = Path.Combine(_temp, "pending.snap");
        await ConsentKv.CompileAsync(nats, bucket, s_purposes, path);
        var puts = Enumerable.Range(0, 2000).Select(i => store.PutAsync(ConsentKv.EncodeKey(Encoding.UTF8.GetBytes($"u{i}")), ConsentKv.EncodeValue(Consent("granted"), s_purposes)).AsTask());
        await Task.WhenAll(puts);
        await PutAsync(store, "alice", "opt_out");

        using var baseSnapshot = CompiledSnapshot.Open(path);
        await using var overlay = await KvOverlaySnapshot.StartAsync(nats, bucket, baseSnapshot, s_purposes);
        Assert.False(overlay.IsLoaded);
        Assert.Throws<InvalidOperationException>(() => Policy(overlay).Decide("alice"u8, null));

        await overlay.WaitLoadedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2001, overlay.Updates);
        Assert.Equal(DropReason.OptedOut, Policy(overlay).Decide("alice"u8, null).Reason);
    }

    [NatsFact]
    public async Task StartAsync_CsvBase_StartsAtItsAsOfTimeMinusTheMargin()
    {
        await using var nats = await ConnectAsync();
        var (bucket, store) = await CreateBucketAsync(nats);
        await PutAsync(store, "dave", "granted");
        await Task.Delay(50);
        var asOf = DateTimeOffset.UtcNow;
        await Task.Delay(50);
        await PutAsync(store, "bob", "opt_out");
        var firstChange = (await store.GetEntryAsync<byte[]>(ConsentKv.EncodeKey("bob"u8))).Revision;
        await store.DeleteAsync(ConsentKv.EncodeKey("carol"u8));

        using var baseSnapshot = BuildCsvBase("csv.snap", "user_id,ai_training\nalice,granted\nbob,granted\ncarol,granted\n", asOf);
        var margin = new KvOverlayOptions { StartMargin = TimeSpan.Zero };
        await using (var overlay = await KvOverlaySnapshot.StartAsync(nats, bucket, baseSnapshot, s_purposes, margin))
        {
            await overlay.WaitLoadedAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(firstChange, overlay.StartSequence);
            Assert.True(Policy(overlay).Decide("alice"u8, null).IsAllowed);
            Assert.Equal(DropReason.OptedOut, Policy(overlay).Decide("bob"u8, null).Reason);
            Assert.Equal(DropReason.UnknownUser, Policy(overlay).Decide("carol"u8, null).Reason);

            // Written before the as-of time and not in the CSV: outside the overlay, as the margin is zero.
            Assert.Equal(DropReason.UnknownUser, Policy(overlay).Decide("dave"u8, null).Reason);
        }

        // A base newer than every entry: nothing to replay, the next entry is the first change.
        using var newer = BuildCsvBase("newer.snap", "user_id,ai_training\nalice,granted\n", DateTimeOffset.UtcNow.AddSeconds(1));
        await using var latest = await KvOverlaySnapshot.StartAsync(nats, bucket, newer, s_purposes, margin);
        await latest.WaitLoadedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((await store.GetStatusAsync()).Info.State.LastSeq + 1, latest.StartSequence);
    }

    [NatsFact]
    public async Task StartAsync_BaseAndBucketThatCannotBeJoined_AreRefused()
    {
        await using var nats = await ConnectAsync();
        var (bucket, store) = await CreateBucketAsync(nats);
        await PutAsync(store, "alice", "granted");
        var path = Path.Combine(_temp, "refuse.snap");
        await ConsentKv.CompileAsync(nats, bucket, s_purposes, path);
        using var good = CompiledSnapshot.Open(path);

        // The run's purpose is not in the base.
        await RefusedAsync(nats, bucket, good, "does not hold purpose 'marketing'", purposes: ["marketing"]);

        // Another bucket than the one the base was read from.
        var (other, _) = await CreateBucketAsync(nats);
        await RefusedAsync(nats, other, good, $"it was read from bucket '{bucket}', not '{other}'");

        // Older than the maximum base age; no as-of at all with an age limit.
        await RefusedAsync(nats, bucket, good, "older than the maximum base age", new KvOverlayOptions { MaxBaseAge = TimeSpan.FromTicks(1) });
        using var undated = BuildCsvBase("undated.snap", "user_id,ai_training\nalice,granted\n", null);
        await RefusedAsync(nats, bucket, undated, "no as-of time", new KvOverlayOptions { MaxBaseAge = TimeSpan.FromDays(1) });
        await RefusedAsync(nats, bucket, undated, "neither a bucket stream sequence nor an as-of time");

        // The stream ends before the base's sequence (restored from an older backup): a base claiming a later sequence.
        var status = (await store.GetStatusAsync()).Info;
        var ahead = Path.Combine(_temp, "ahead.snap");
        CompiledSnapshotBuilder.Build(
            ConsentSnapshot.LoadCsv(new MemoryStream("user_id,ai_training\nalice,granted\n"u8.ToArray()), "a.csv", s_purposes, DateTimeOffset.UtcNow),
            ahead,
            new SnapshotBucketSource(bucket, status.State.LastSeq + 5, status.Created));
        using (var aheadBase = CompiledSnapshot.Open(ahead))
        {
            await RefusedAsync(nats, bucket, aheadBase, $"ends at stream sequence {status.State.LastSeq}, before the base's {status.State.LastSeq + 5}");
        }

        // A CSV base whose as-of (minus the margin) is before the bucket was created: earlier changes are not in the bucket.
        using var old = BuildCsvBase("old.snap", "user_id,ai_training\nalice,granted\n", DateTimeOffset.UtcNow.AddMinutes(-1));
        await RefusedAsync(nats, bucket, old, "after the base's as-of");

        // A stream that allows deleting single messages (not a bucket's default: deny_delete is set on creation).
        var deletable = $"del{Interlocked.Increment(ref s_buckets)}";
        await nats.CreateJetStreamContext().CreateStreamAsync(new StreamConfig($"KV_{deletable}", [$"$KV.{deletable}.>"])
        {
            MaxMsgsPerSubject = 1,
            AllowRollupHdrs = true,
            AllowDirect = true,
            Discard = StreamConfigDiscard.New,
            DenyDelete = false,
        });
        await ConsentKv.CompileAsync(nats, deletable, s_purposes, Path.Combine(_temp, "deletable.snap"));
        using (var deletableBase = CompiledSnapshot.Open(Path.Combine(_temp, "deletable.snap")))
        {
            await RefusedAsync(nats, deletable, deletableBase, "allows deleting single messages");
        }

        // A purge of the bucket's stream after the base, caught when it emptied the stream.
        var (purged, purgedStore) = await CreateBucketAsync(nats);
        await PutAsync(purgedStore, "alice", "granted");
        var purgedPath = Path.Combine(_temp, "purged.snap");
        await ConsentKv.CompileAsync(nats, purged, s_purposes, purgedPath);
        using var purgedBase = CompiledSnapshot.Open(purgedPath);
        await using (var before = await KvOverlaySnapshot.StartAsync(nats, purged, purgedBase, s_purposes))
        {
            await before.WaitLoadedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        await PutAsync(purgedStore, "alice", "opt_out");
        await nats.CreateJetStreamContext().PurgeStreamAsync($"KV_{purged}", new StreamPurgeRequest());
        await RefusedAsync(nats, purged, purgedBase, "it was purged");

        // The bucket was deleted and created again since the base.
        await nats.CreateKeyValueStoreContext().DeleteStoreAsync(bucket);
        await Task.Delay(10);
        var recreated = await CreateBucketAsync(nats, bucket);
        await PutAsync(recreated.Store, "alice", "granted");
        await PutAsync(recreated.Store, "bob", "granted");
        await RefusedAsync(nats, bucket, good, "was recreated");
    }

    [NatsFact]
    public async Task StartAsync_BucketThatMayDiscardChanges_IsRefused()
    {
        await using var nats = await ConnectAsync();
        var ttl = $"ttl{Interlocked.Increment(ref s_buckets)}";
        await nats.CreateKeyValueStoreContext().CreateStoreAsync(new NatsKVConfig(ttl) { MaxAge = TimeSpan.FromHours(1) });
        var path = Path.Combine(_temp, "ttl.snap");
        await ConsentKv.CompileAsync(nats, ttl, s_purposes, path);
        using (var ttlBase = CompiledSnapshot.Open(path))
        {
            await RefusedAsync(nats, ttl, ttlBase, "max age (TTL)");
        }

        var (limited, _) = await CreateBucketAsync(nats, tweak: c =>
        {
            c.Discard = StreamConfigDiscard.Old;
            c.MaxMsgs = 1000;
        });
        await ConsentKv.CompileAsync(nats, limited, s_purposes, path);
        using var limitedBase = CompiledSnapshot.Open(path);
        await RefusedAsync(nats, limited, limitedBase, "discards old entries past a limit");
    }

    [NatsFact]
    public void Overlay_RandomBaseAndChanges_DecidesAsAFullWatch()
    {
        var users = Enumerable.Range(0, 12).Select(i => $"u{i}").ToArray();
        var change = Gen.Choose(0, users.Length - 1).SelectMany(u => Gen.Choose(0, s_states.Length + 1).Select(op => (User: users[u], Op: op)));
        var arbitrary = Gen.ArrayOf(change).SelectMany(before => Gen.ArrayOf(change).Select(after => (Before: before, After: after))).ToArbitrary();
        var property = Prop.ForAll(arbitrary, (((string User, int Op)[] Before, (string User, int Op)[] After) input) =>
            Task.Run(async () =>
            {
                await using var nats = await ConnectAsync();
                var (bucket, store) = await CreateBucketAsync(nats);
                await ApplyAsync(store, input.Before);
                var path = Path.Combine(_temp, $"{bucket}.snap");
                await ConsentKv.CompileAsync(nats, bucket, s_purposes, path);
                await ApplyAsync(store, input.After);
                using var baseSnapshot = CompiledSnapshot.Open(path);
                await using var overlay = await KvOverlaySnapshot.StartAsync(nats, bucket, baseSnapshot, s_purposes);
                await using var full = KvConsentSnapshot.Start(nats, bucket, s_purposes);
                await overlay.WaitLoadedAsync().WaitAsync(TimeSpan.FromSeconds(10));
                await full.WaitLoadedAsync().WaitAsync(TimeSpan.FromSeconds(10));
                AssertSameDecisions(full, overlay, [.. users, "absent"]);
                return true;
            }).GetAwaiter().GetResult());
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(15), property);
    }

    [NatsFact]
    public async Task Cli_SnapshotBuildFromBucketThenStreamFromIt_HonoursLaterRevocation()
    {
        await using var nats = await ConnectAsync();
        var (bucket, store) = await CreateBucketAsync(nats);
        await PutAsync(store, "alice", "granted");
        await PutAsync(store, "bob", "granted");
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig($"IN_{bucket}", [$"in.{bucket}"]));
        await js.CreateStreamAsync(new StreamConfig($"OUT_{bucket}", [$"out.{bucket}"]) { DuplicateWindow = TimeSpan.FromMinutes(2) });
        var path = Path.Combine(_temp, "cli.snap");
        var table = Path.Combine(_temp, "jurisdictions.csv");
        await File.WriteAllTextAsync(table, "*,opt-out\n");

        var (code, stdout, stderr) = await RunCliAsync(["snapshot", "build", "--consent-kv", bucket, "--nats", server.Url, "--out", path]);
        Assert.True(code == 0, stderr);
        Assert.Contains("2 users from bucket", stdout, StringComparison.Ordinal);
        (code, stdout, stderr) = await RunCliAsync(["snapshot", "info", path]);
        Assert.True(code == 0, stderr);
        Assert.Contains($"bucket: {bucket}\nstream sequence: 2\n", stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);

        await PutAsync(store, "bob", "opt_out");
        foreach (var user in new[] { "alice", "bob" })
        {
            (await js.PublishAsync($"in.{bucket}", Encoding.UTF8.GetBytes($$"""{"user_id":"{{user}}"}"""))).EnsureSuccess();
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var streamOut = new StringWriter();
        using var streamErr = new StringWriter();
        var run = ConsentFilter.Cli.ConsoleApp.RunAsync(
            ["stream", "--nats", server.Url, "--input", $"IN_{bucket}", "--output", $"out.{bucket}", "--consent-kv", bucket, "--consent-base", path, "--durable", "cli", "--jurisdictions", table],
            streamOut,
            streamErr,
            cts.Token);
        await WaitUntilAsync(() => run.IsCompleted || js.GetConsumerAsync($"IN_{bucket}", "cli").AsTask().ContinueWith(t => t.IsCompletedSuccessfully && t.Result.Info.NumAckPending == 0 && t.Result.Info.Delivered.StreamSeq == 2).Result);
        await cts.CancelAsync();
        Assert.True(0 == await run, streamErr.ToString());
        Assert.Contains("from stream sequence 3", streamErr.ToString(), StringComparison.Ordinal);
        Assert.Contains("\"records\":2,\"kept\":1", streamOut.ToString(), StringComparison.Ordinal);

        // Refused: exit 2, one line naming the file and the reason, nothing consumed.
        (code, _, stderr) = await RunCliAsync(
            ["stream", "--nats", server.Url, "--input", $"IN_{bucket}", "--output", $"out.{bucket}", "--consent-kv", bucket, "--consent-base", path, "--max-base-age", "0.001s"]);
        Assert.Equal(2, code);
        Assert.Contains($"{path}: consent base refused: ", stderr, StringComparison.Ordinal);
        Assert.Contains("older than the maximum base age", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunCliAsync(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await ConsentFilter.Cli.ConsoleApp.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static async Task ApplyAsync(INatsKVStore store, IEnumerable<(string User, int Op)> changes)
    {
        foreach (var (user, op) in changes)
        {
            var key = ConsentKv.EncodeKey(Encoding.UTF8.GetBytes(user));
            if (op < s_states.Length)
            {
                await PutAsync(store, user, s_states[op]);
            }
            else if (op == s_states.Length)
            {
                await store.DeleteAsync(key);
            }
            else
            {
                await store.PurgeAsync(key);
            }
        }
    }

    private static void AssertSameDecisions(IConsentSnapshot expected, IConsentSnapshot actual, IEnumerable<string> users)
    {
        foreach (var user in users)
        {
            var id = Encoding.UTF8.GetBytes(user);
            foreach (var region in new[] { null, "FR", "KP" })
            {
                var match = region is null ? (RegionMatch?)null : Policy(expected).ResolveRegion(region);
                Assert.True(Policy(expected).Decide(id, match) == Policy(actual).Decide(id, match), $"{user} in {region ?? "no region"}");
            }
        }
    }

    private async Task RefusedAsync(INatsConnection nats, string bucket, CompiledSnapshot baseSnapshot, string reason, KvOverlayOptions? options = null, string[]? purposes = null)
    {
        var error = await Assert.ThrowsAsync<DataFileException>(() => KvOverlaySnapshot.StartAsync(nats, bucket, baseSnapshot, purposes ?? s_purposes, options));
        Assert.Contains("consent base refused", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    private CompiledSnapshot BuildCsvBase(string name, string csv, DateTimeOffset? asOf)
    {
        var path = Path.Combine(_temp, name);
        CompiledSnapshotBuilder.Build(ConsentSnapshot.LoadCsv(new MemoryStream(Encoding.UTF8.GetBytes(csv)), name, s_purposes, asOf), path);
        return CompiledSnapshot.Open(path);
    }

    private static ConsentPolicy Policy(IConsentSnapshot snapshot) => new(snapshot, s_table, "ai_training");

    private static UserConsent Consent(string state, string? region = null) => StreamFilterWorkerTests.Consent(state, region);

    private async Task<NatsConnection> ConnectAsync()
    {
        var connection = new NatsConnection(new NatsOpts { Url = server.Url, Name = "consentfilter-overlay-tests" });
        await connection.ConnectAsync();
        return connection;
    }

    private static async Task<(string Bucket, INatsKVStore Store)> CreateBucketAsync(INatsConnection nats, string? name = null, Action<StreamConfig>? tweak = null)
    {
        var bucket = name ?? $"overlay{Interlocked.Increment(ref s_buckets)}";
        var store = await nats.CreateKeyValueStoreContext().CreateStoreAsync(new NatsKVConfig(bucket));
        if (tweak is not null)
        {
            var js = nats.CreateJetStreamContext();
            var config = (await js.GetStreamAsync($"KV_{bucket}")).Info.Config;
            tweak(config);
            await js.UpdateStreamAsync(config);
        }

        return (bucket, store);
    }

    private static async Task PutAsync(INatsKVStore store, string user, string state, string? region = null) =>
        await store.PutAsync(ConsentKv.EncodeKey(Encoding.UTF8.GetBytes(user)), ConsentKv.EncodeValue(Consent(state, region), s_purposes));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(5);
        }
    }
}
