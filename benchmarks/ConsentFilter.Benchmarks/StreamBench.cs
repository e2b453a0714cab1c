using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Streaming;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace ConsentFilter.Benchmarks;

/// <summary>
/// <c>stream</c>: records/s through a private <c>nats-server -js</c> with one and two <see cref="StreamFilterWorker"/>s
/// next to a bare consume + republish + ack baseline, the revocation delay distribution, and the CPU time of a sharded
/// batch run (<c>filter --out-dir --shard I/N</c> processes) against one unsharded run.
/// </summary>
/// <remarks>
/// Options: <c>--records N</c> (200,000), <c>--users N</c> (20,000), <c>--revocations N</c> (200), <c>--shards N</c> (2),
/// <c>--shard-files N</c> (4), <c>--shard-records N</c> per file (250,000), <c>--runs N</c> (3, median), <c>--skip-shards</c>,
/// <c>--only-shards</c>, <c>--native PATH</c> (run the shards with a native executable).
/// </remarks>
internal static class StreamBench
{
    private static readonly string[] s_purposes = ["ai_training"];
    private static readonly JurisdictionTable s_keepAll = JurisdictionTable.Load("code,regime\n*,opt-out\n"u8, "keep-all");

    internal static async Task<int> RunAsync(string[] args)
    {
        var records = IntOption(args, "--records", 200_000);
        var users = IntOption(args, "--users", 20_000);
        var revocations = IntOption(args, "--revocations", 200);
        var runs = IntOption(args, "--runs", 3);
        var directory = Path.Combine(Path.GetTempPath(), "consentfilter-bench");
        var corpus = CorpusGenerator.Generate(directory, records, users, 42);
        Console.WriteLine($"{Environment.ProcessorCount} cores; .NET {Environment.Version}; {records:N0} records ({corpus.Bytes / (double)records:F0} bytes each), {users:N0} users; median of {runs}");

        if (args.Contains("--only-shards"))
        {
            ShardCpu(CliUnderTest.Native(args) ?? CliUnderTest.Managed, directory, IntOption(args, "--shards", 2), IntOption(args, "--shard-files", 4), IntOption(args, "--shard-records", 250_000), users, runs);
            return 0;
        }

        using (var server = new Server())
        {
            await using var admin = await ConnectAsync(server.Url).ConfigureAwait(false);
            var js = admin.CreateJetStreamContext();
            await js.CreateOrUpdateStreamAsync(new StreamConfig("IN", ["in.>"])).ConfigureAwait(false);
            var snapshot = ConsentSnapshot.LoadCsv(corpus.Consent, s_purposes);
            var clock = Stopwatch.StartNew();
            await ConsentKv.PublishAsync(admin, "consent", snapshot).ConfigureAwait(false);
            Console.WriteLine($"KV: {snapshot.Users.Count:N0} users put in {clock.Elapsed.TotalSeconds:F2} s");
            var lines = File.ReadLines(corpus.Records).Select(Encoding.UTF8.GetBytes).ToArray();
            clock.Restart();
            await PublishAsync(js, "in.records", lines).ConfigureAwait(false);
            Console.WriteLine($"input: {lines.Length:N0} records published in {clock.Elapsed.TotalSeconds:F2} s ({lines.Length / clock.Elapsed.TotalSeconds:N0}/s)");
            var table = JurisdictionTable.LoadFile(corpus.Jurisdictions);

            var run = 0;
            async Task<double> MeasureAsync(string label, int workers, bool bare, bool keepAll = false)
            {
                var rates = new List<double>();
                for (var r = 0; r < runs; r++)
                {
                    rates.Add(await DrainAsync(server.Url, admin, ++run, workers, bare, keepAll ? s_keepAll : table, lines.Length, keepAll).ConfigureAwait(false));
                }

                rates.Sort();
                var median = rates[rates.Count / 2];
                Console.WriteLine($"{label,-52} {median,10:N0} records/s   (runs: {string.Join(", ", rates.Select(x => x.ToString("N0", CultureInfo.InvariantCulture)))})");
                return median;
            }

            var bare1 = await MeasureAsync("bare consume + republish + ack, 1 worker", 1, bare: true).ConfigureAwait(false);
            var bare2 = await MeasureAsync("bare consume + republish + ack, 2 workers", 2, bare: true).ConfigureAwait(false);
            var one = await MeasureAsync("StreamFilterWorker, 1 worker", 1, bare: false).ConfigureAwait(false);
            var two = await MeasureAsync("StreamFilterWorker, 2 workers", 2, bare: false).ConfigureAwait(false);
            var twoAll = await MeasureAsync("StreamFilterWorker, 2 workers, every record kept", 2, bare: false, keepAll: true).ConfigureAwait(false);
            Console.WriteLine($"ratios: 1 worker {one / bare1 * 100:F0} % of bare 1; 2 workers {two / bare2 * 100:F0} % of bare 2, {two / bare1 * 100:F0} % of bare 1; " +
                              $"2 workers keeping (republishing) every record {twoAll / bare2 * 100:F0} % of bare 2; " +
                              $"target two workers >= 25,000 records/s: {(two >= 25_000 ? "met" : "NOT met")}");

            await RevocationAsync(server.Url, admin, table, revocations).ConfigureAwait(false);
        }

        if (!args.Contains("--skip-shards"))
        {
            ShardCpu(CliUnderTest.Native(args) ?? CliUnderTest.Managed, directory, IntOption(args, "--shards", 2), IntOption(args, "--shard-files", 4), IntOption(args, "--shard-records", 250_000), users, runs);
        }

        return 0;
    }

    /// <summary>Runs <paramref name="workers"/> on a fresh durable and output stream until every input is acked; records/s.</summary>
    private static async Task<double> DrainAsync(string url, INatsConnection admin, int run, int workers, bool bare, JurisdictionTable table, int total, bool keepAll)
    {
        var js = admin.CreateJetStreamContext();
        var output = $"out.{run}";
        await js.CreateOrUpdateStreamAsync(new StreamConfig($"OUT{run}", [output]) { DuplicateWindow = TimeSpan.FromMinutes(2) }).ConfigureAwait(false);
        await js.CreateOrUpdateStreamAsync(new StreamConfig($"Q{run}", [$"q.{run}"]) { DuplicateWindow = TimeSpan.FromMinutes(2) }).ConfigureAwait(false);
        var options = new StreamFilterOptions { InputStream = "IN", InputSubject = "in.>", OutputSubject = output, QuarantineSubject = $"q.{run}", Durable = $"run{run}" };
        options.SubjectFields.Add("recipients");
        await StreamFilterWorker.EnsureConsumerAsync(admin, options).ConfigureAwait(false);

        var connections = new List<NatsConnection>();
        var snapshots = new List<KvConsentSnapshot>();
        using var stop = new CancellationTokenSource();
        var tasks = new List<Task>();
        for (var w = 0; w < workers; w++)
        {
            var connection = await ConnectAsync(url).ConfigureAwait(false);
            connections.Add(connection);
            if (bare)
            {
                tasks.Add(BareAsync(connection, options, stop.Token));
            }
            else
            {
                var kv = KvConsentSnapshot.Start(connection, "consent", s_purposes);
                snapshots.Add(kv);
                await kv.WaitLoadedAsync().ConfigureAwait(false);
            }
        }

        var counts = new List<StreamCounts>();
        var clock = Stopwatch.StartNew();
        if (!bare)
        {
            foreach (var (connection, kv) in connections.Zip(snapshots))
            {
                var worker = new StreamFilterWorker(connection, new ConsentPolicy(keepAll ? new AllGranted(kv) : kv, table, "ai_training"), options);
                counts.Add(worker.Counts);
                tasks.Add(worker.RunAsync(stop.Token));
            }
        }

        var consumer = await js.GetConsumerAsync("IN", options.Durable).ConfigureAwait(false);
        while (true)
        {
            await Task.Delay(10).ConfigureAwait(false);
            await consumer.RefreshAsync().ConfigureAwait(false);
            if (consumer.Info.AckFloor.StreamSeq >= (ulong)total)
            {
                break;
            }

            if (tasks.FirstOrDefault(t => t.IsFaulted) is { } failed)
            {
                await failed.ConfigureAwait(false);
            }
        }

        var seconds = clock.Elapsed.TotalSeconds;
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(tasks).ConfigureAwait(false);
        foreach (var kv in snapshots)
        {
            await kv.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var connection in connections)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        if (!bare)
        {
            Console.WriteLine($"  run {run}: kept {counts.Sum(c => c.Kept):N0} of {counts.Sum(c => c.Records):N0} (only kept records are republished), " +
                              $"quarantined {counts.Sum(c => c.Quarantined):N0}, per worker {string.Join(" / ", counts.Select(c => c.Records.ToString("N0", CultureInfo.InvariantCulture)))}");
        }

        await js.DeleteStreamAsync($"OUT{run}").ConfigureAwait(false);
        await js.DeleteStreamAsync($"Q{run}").ConfigureAwait(false);
        return total / seconds;
    }

    /// <summary>The floor: the worker's pipeline (same pull size, same in-flight publishes, ack after publish ack) with no parse or decision.</summary>
    private static async Task BareAsync(INatsConnection connection, StreamFilterOptions options, CancellationToken cancellationToken)
    {
        var js = connection.CreateJetStreamContext();
        var consumer = await js.GetConsumerAsync(options.InputStream, options.Durable, cancellationToken).ConfigureAwait(false);
        var inFlight = Channel.CreateBounded<(INatsJSMsg<byte[]> Msg, Task<PubAckResponse> Publish)>(options.MaxInFlight);
        var completer = Task.Run(
            async () =>
            {
                await foreach (var (msg, publish) in inFlight.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    (await publish.ConfigureAwait(false)).EnsureSuccess();
                    await msg.AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                }
            },
            cancellationToken);
        try
        {
            var opts = new NatsJSConsumeOpts { MaxMsgs = options.MaxInFlight * 2, Expires = TimeSpan.FromSeconds(2), IdleHeartbeat = TimeSpan.FromMilliseconds(500) };
            await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: opts, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var id = string.Create(CultureInfo.InvariantCulture, $"{msg.Metadata!.Value.Stream}:{msg.Metadata.Value.Sequence.Stream}");
                var publish = js.PublishAsync(options.OutputSubject, msg.Data, opts: new NatsJSPubOpts { MsgId = id }, cancellationToken: cancellationToken).AsTask();
                await inFlight.Writer.WriteAsync((msg, publish), cancellationToken).ConfigureAwait(false);
            }

            await completer.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Two workers on a continuous stream of records of <paramref name="count"/> granted users; one user revoked every
    /// 20 ms. Per revocation: KV put → first decision that honours it, and the last decision after the put that still granted.
    /// </summary>
    private static async Task RevocationAsync(string url, INatsConnection admin, JurisdictionTable table, int count)
    {
        var js = admin.CreateJetStreamContext();
        await js.CreateOrUpdateStreamAsync(new StreamConfig("RIN", ["rin.>"])).ConfigureAwait(false);
        await js.CreateOrUpdateStreamAsync(new StreamConfig("ROUT", ["rout"]) { DuplicateWindow = TimeSpan.FromMinutes(2) }).ConfigureAwait(false);
        var store = await admin.CreateKeyValueStoreContext().CreateOrUpdateStoreAsync(new NatsKVConfig("revoke")).ConfigureAwait(false);
        var granted = ConsentKv.EncodeValue(new UserConsent(PurposeStates.AllUnset.With(0, ConsentState.Granted), false, false, []), s_purposes);
        var denied = ConsentKv.EncodeValue(new UserConsent(PurposeStates.AllUnset.With(0, ConsentState.Denied), false, false, []), s_purposes);
        for (var u = 0; u < count; u++)
        {
            await store.PutAsync(ConsentKv.EncodeKey(Encoding.UTF8.GetBytes($"r{u}")), granted).ConfigureAwait(false);
        }

        var recorder = new RevocationRecorder(count);
        var options = new StreamFilterOptions { InputStream = "RIN", InputSubject = "rin.>", OutputSubject = "rout", Durable = "revoke" };
        using var stop = new CancellationTokenSource();
        var connections = new List<NatsConnection>();
        var snapshots = new List<KvConsentSnapshot>();
        var runs = new List<Task>();
        var counts = new List<StreamCounts>();
        for (var w = 0; w < 2; w++)
        {
            var connection = await ConnectAsync(url).ConfigureAwait(false);
            connections.Add(connection);
            var kv = KvConsentSnapshot.Start(connection, "revoke", s_purposes);
            snapshots.Add(kv);
            await kv.WaitLoadedAsync().ConfigureAwait(false);
            var worker = new StreamFilterWorker(connection, new ConsentPolicy(new RecordingSnapshot(kv, recorder), table, "ai_training"), options);
            counts.Add(worker.Counts);
            runs.Add(worker.RunAsync(stop.Token));
        }

        using var stopPublishing = new CancellationTokenSource();
        var published = 0L;
        var publisher = Task.Run(async () =>
        {
            var pjs = admin.CreateJetStreamContext();
            var i = 0;
            while (!stopPublishing.IsCancellationRequested)
            {
                var batch = new List<Task<PubAckResponse>>(64);
                for (var k = 0; k < 64; k++, i++)
                {
                    batch.Add(pjs.PublishAsync("rin.records", Encoding.UTF8.GetBytes($$"""{"id":{{i}},"user_id":"r{{i % count}}"}""")).AsTask());
                }

                await Task.WhenAll(batch).ConfigureAwait(false);
                Interlocked.Add(ref published, 64);
            }
        });

        await Task.Delay(500).ConfigureAwait(false);
        var decidedBefore = counts.Sum(c => c.Records);
        var clock = Stopwatch.StartNew();
        for (var u = 0; u < count; u++)
        {
            recorder.Put[u] = Stopwatch.GetTimestamp();
            await store.PutAsync(ConsentKv.EncodeKey(Encoding.UTF8.GetBytes($"r{u}")), denied).ConfigureAwait(false);
            await Task.Delay(20).ConfigureAwait(false);
        }

        await Task.Delay(500).ConfigureAwait(false);
        var rate = (counts.Sum(c => c.Records) - decidedBefore) / clock.Elapsed.TotalSeconds;
        await stopPublishing.CancelAsync().ConfigureAwait(false);
        await publisher.ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(runs).ConfigureAwait(false);
        foreach (var kv in snapshots)
        {
            await kv.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var connection in connections)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        var honoured = new List<double>();
        var exposure = new List<double>();
        for (var u = 0; u < count; u++)
        {
            if (recorder.FirstRevoked[u] > 0)
            {
                honoured.Add(Stopwatch.GetElapsedTime(recorder.Put[u], recorder.FirstRevoked[u]).TotalMilliseconds);
            }

            exposure.Add(recorder.LastGranted[u] > recorder.Put[u] ? Stopwatch.GetElapsedTime(recorder.Put[u], recorder.LastGranted[u]).TotalMilliseconds : 0);
        }

        honoured.Sort();
        exposure.Sort();
        Console.WriteLine($"revocation ({count} users revoked every 20 ms, 2 workers under {rate:N0} records/s, each user's next record ~{count / Math.Max(rate, 1) * 1000:F0} ms apart):");
        Console.WriteLine($"  KV put → first decision honouring it: p50 {Percentile(honoured, 0.5):F1} ms, p99 {Percentile(honoured, 0.99):F1} ms, max {honoured.LastOrDefault():F1} ms ({honoured.Count}/{count} observed)");
        Console.WriteLine($"  KV put → last decision still granting: p50 {Percentile(exposure, 0.5):F1} ms, p99 {Percentile(exposure, 0.99):F1} ms, max {exposure.LastOrDefault():F1} ms");
        Console.WriteLine($"  target revocation <= 1 s at p99: {(honoured.Count == count && Percentile(honoured, 0.99) <= 1000 ? "met" : "NOT met")}");
    }

    /// <summary>Runs <c>filter --out-dir</c> once unsharded and as <paramref name="shards"/> processes; sums their user + system CPU.</summary>
    private static void ShardCpu(CliUnderTest cli, string directory, int shards, int files, int perFile, int users, int runs)
    {
        var inputs = Enumerable.Range(0, files).Select(f => CorpusGenerator.Generate(directory, perFile, users, 100 + f)).ToList();
        // Every task maps the same compiled snapshot, as in docs/operations.md: no task parses the consent CSV.
        var consent = Path.Combine(directory, $"consent-{users}-shards.snap");
        Consent.CompiledSnapshotBuilder.Build(Consent.ConsentSnapshot.LoadCsv(CorpusGenerator.Generate(directory, perFile, users, 100).Consent, ["ai_training"]), consent);
        var bytes = inputs.Sum(c => c.Bytes);
        Console.WriteLine($"sharded batch: {files} files x {perFile:N0} records ({bytes / 1e6:F0} MB), {shards} shards vs one run, sequential processes; median of {runs}");
        var single = new List<double>();
        var sharded = new List<double>();
        var shardWall = new List<double>();
        for (var r = 0; r < runs; r++)
        {
            single.Add(CpuSeconds(cli, directory, inputs, consent, null, out _));
            var sum = 0.0;
            var wall = 0.0;
            for (var s = 0; s < shards; s++)
            {
                sum += CpuSeconds(cli, directory, inputs, consent, $"{s}/{shards}", out var w);
                wall = Math.Max(wall, w);
            }

            sharded.Add(sum);
            shardWall.Add(wall);
        }

        single.Sort();
        sharded.Sort();
        var one = single[runs / 2];
        var all = sharded[runs / 2];
        Console.WriteLine($"  one run: {one:F2} CPU s; {shards} shards together: {all:F2} CPU s ({(all / one - 1) * 100:+0;-0} %); slowest shard wall {shardWall.Min():F2} s (best run)");
        Console.WriteLine($"  target shards within 10 % of one run's CPU: {(all <= one * 1.10 ? "met" : "NOT met")}");
    }

    /// <summary>User + system CPU seconds of one CLI process (bash's <c>times</c> for its waited-for children).</summary>
    private static double CpuSeconds(CliUnderTest cli, string directory, List<CorpusGenerator.Corpus> inputs, string consent, string? shard, out double wall)
    {
        var outDir = Path.Combine(directory, "shard-out");
        if (shard is null || shard.StartsWith("0/", StringComparison.Ordinal))
        {
            if (Directory.Exists(outDir))
            {
                Directory.Delete(outDir, recursive: true);
            }
        }

        var command = new StringBuilder($"{cli.ShellPrefix} filter --records");
        foreach (var input in inputs)
        {
            command.Append(" '").Append(input.Records).Append('\'');
        }

        command.Append(CultureInfo.InvariantCulture, $" --consent '{consent}' --jurisdictions '{inputs[0].Jurisdictions}' --subject-field recipients --out-dir '{outDir}'");
        if (shard is not null)
        {
            command.Append(" --shard ").Append(shard);
        }

        command.Append(" >/dev/null || exit 1; times");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command.ToString());
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        wall = clock.Elapsed.TotalSeconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"consentfilter filter exited {process.ExitCode}: {stderr.Result}");
        }

        // times: the shell's own user/sys, then its children's: "0m1.234s 0m0.123s".
        var children = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Split(' ');
        return children.Sum(ParseTimes);
    }

    private static double ParseTimes(string value)
    {
        var m = value.IndexOf('m', StringComparison.Ordinal);
        return (double.Parse(value[..m], CultureInfo.InvariantCulture) * 60) + double.Parse(value[(m + 1)..^1], CultureInfo.InvariantCulture);
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static async Task PublishAsync(INatsJSContext js, string subject, byte[][] records)
    {
        for (var i = 0; i < records.Length; i += 1024)
        {
            var batch = records.Skip(i).Take(1024).Select(r => js.PublishAsync(subject, r).AsTask());
            foreach (var ack in await Task.WhenAll(batch).ConfigureAwait(false))
            {
                ack.EnsureSuccess();
            }
        }
    }

    private static async Task<NatsConnection> ConnectAsync(string url)
    {
        var connection = new NatsConnection(new NatsOpts { Url = url, Name = "consentfilter-bench" });
        await connection.ConnectAsync().ConfigureAwait(false);
        return connection;
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>Per revoked user r{K}: when it was put, the first lookup seeing the denial, the last lookup still granting.</summary>
    private sealed class RevocationRecorder(int count)
    {
        public long[] Put { get; } = new long[count];

        public long[] FirstRevoked { get; } = new long[count];

        public long[] LastGranted { get; } = new long[count];
    }

    /// <summary>Looks every user up in the bucket's snapshot (same cost), then grants: every record is kept and republished.</summary>
    private sealed class AllGranted(IConsentSnapshot inner) : IConsentSnapshot
    {
        public SnapshotInfo Info => inner.Info;

        public IReadOnlyList<string> Purposes => inner.Purposes;

        public bool TryGetUser(ReadOnlySpan<byte> userId, out UserConsent consent)
        {
            inner.TryGetUser(userId, out _);
            consent = new UserConsent(PurposeStates.AllUnset.With(0, ConsentState.Granted), false, false, []);
            return true;
        }
    }

    private sealed class RecordingSnapshot(IConsentSnapshot inner, RevocationRecorder recorder) : IConsentSnapshot
    {
        public SnapshotInfo Info => inner.Info;

        public IReadOnlyList<string> Purposes => inner.Purposes;

        public bool TryGetUser(ReadOnlySpan<byte> userId, out UserConsent consent)
        {
            var found = inner.TryGetUser(userId, out consent);
            if (found && userId.Length > 1 && userId[0] == (byte)'r'
                && int.TryParse(userId[1..], NumberStyles.None, CultureInfo.InvariantCulture, out var u) && u < recorder.Put.Length)
            {
                var now = Stopwatch.GetTimestamp();
                if (consent.States[0] == ConsentState.Granted)
                {
                    // Later lookups win; the race between two workers can only make the exposure look longer, never shorter.
                    long seen;
                    do
                    {
                        seen = Volatile.Read(ref recorder.LastGranted[u]);
                    }
                    while (seen < now && Interlocked.CompareExchange(ref recorder.LastGranted[u], now, seen) != seen);
                }
                else
                {
                    Interlocked.CompareExchange(ref recorder.FirstRevoked[u], now, 0);
                }
            }

            return found;
        }
    }

    /// <summary>A private <c>nats-server -js</c> on a free loopback port with a temporary store.</summary>
    private sealed class Server : IDisposable
    {
        private readonly Process _process;
        private readonly string _store;

        public Server()
        {
            var binary = new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists)
                         ?? throw new InvalidOperationException("nats-server not found (apt-get install nats-server)");
            _store = Path.Combine(Path.GetTempPath(), "consentfilter-bench-nats", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_store);
            int port;
            using (var listener = new TcpListener(IPAddress.Loopback, 0))
            {
                listener.Start();
                port = ((IPEndPoint)listener.LocalEndpoint).Port;
            }

            Url = $"nats://127.0.0.1:{port}";
            var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "-js", "-sd", _store, "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture) })
            {
                start.ArgumentList.Add(arg);
            }

            _process = Process.Start(start)!;
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    using var client = new TcpClient();
                    client.Connect(IPAddress.Loopback, port);
                    return;
                }
                catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(10))
                {
                    Thread.Sleep(20);
                }
            }
        }

        public string Url { get; }

        public void Dispose()
        {
            _process.Kill();
            _process.WaitForExit(5000);
            _process.Dispose();
            Directory.Delete(_store, recursive: true);
        }
    }
}
