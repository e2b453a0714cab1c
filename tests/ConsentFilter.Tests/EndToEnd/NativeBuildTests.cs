using System.Diagnostics;
using System.IO.Compression;
using ConsentFilter.Tests.Support;
using ConsentFilter.Tests.Tabular;

namespace ConsentFilter.Tests.EndToEnd;

/// <summary>
/// The tool as users get it — packed once for the class into a local feed and installed with <c>dotnet tool install</c>,
/// which picks the native (ahead-of-time compiled) package for this machine — against the framework-dependent CLI run
/// in this process: every format and command whose code a native build could break (reflection, trimming) must give
/// the same exit code and the same output bytes.
/// </summary>
/// <remarks>Linux only (the tests' platform); the native package is this machine's (linux-x64 or linux-arm64).</remarks>
[Collection(BuildsCollection.Name)]
public sealed class NativeBuildTests : IClassFixture<NativeBuildTests.NativeCli>
{
    private const string Consent = "samples/consent.csv";
    private const string Table = "samples/jurisdictions.csv";
    private readonly NativeCli _native;

    public NativeBuildTests(NativeCli native) => _native = native;

    [LinuxFact]
    public async Task InstalledCommand_IsTheNativeExecutable_NamedConsentfilter_WithParquetSharpBesideIt()
    {
        // tools/consentfilter links to the executable in the tool store; an apphost would need a managed entry assembly
        // and a runtimeconfig beside it, a native build has neither.
        var executable = _native.InstalledExecutable();
        Assert.Equal("consentfilter", Path.GetFileName(executable));
        var header = new byte[4];
        await using (var file = File.OpenRead(executable))
        {
            await file.ReadExactlyAsync(header);
        }

        Assert.Equal("\u007fELF"u8.ToArray(), header);
        var beside = Directory.GetFiles(Path.GetDirectoryName(executable)!).Select(file => Path.GetFileName(file)).ToArray();
        Assert.DoesNotContain(beside, name => name!.EndsWith(".dll", StringComparison.Ordinal) || name.EndsWith(".runtimeconfig.json", StringComparison.Ordinal));
        Assert.Contains("ParquetSharpNative.so", beside);

        // Nothing else ships: managed .pdb files of code compiled to native and the 48 MB .dbg stay out of the package.
        // On x64 the AVX-512 twin sits beside the baseline executable (NativeVariant).
        string[] shipped = X64 ? ["ParquetSharpNative.so", "consentfilter", Avx512Twin] : ["ParquetSharpNative.so", "consentfilter"];
        Assert.Equal(shipped, beside.Where(name => name != "DotnetToolSettings.xml").Order(StringComparer.Ordinal));

        using var dir = new TempDirectory();
        var help = await _native.RunAsync(dir.Path, "filter", "--help");
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("  consentfilter filter [options]", help.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("ConsentFilter.Cli", help.StdOut, StringComparison.Ordinal);
    }

    [LinuxFact]
    public async Task JsonLines_WithAuditFiles_Manifest_AndVerify_MatchTheManagedCli()
    {
        using var dir = new TempDirectory();
        var records = Path.Combine(_native.Root, "samples", "records.jsonl");
        var expected = await BothAsync(dir, "kept.jsonl", name => ["filter", "--records", records, "--consent", Sample(Consent), "--jurisdictions", Sample(Table),
            "--subject-field", "recipients", "--out", name("kept.jsonl"), "--rejected", name("rejected.jsonl"), "--quarantine", name("quarantine.jsonl")]);
        Assert.Equal(0, expected);
        foreach (var file in new[] { "rejected.jsonl", "quarantine.jsonl" })
        {
            Assert.Equal(File.ReadAllBytes(dir.File("managed-" + file)), File.ReadAllBytes(dir.File("native-" + file)));
        }

        var verify = await _native.RunAsync(dir.Path, "verify", dir.File("native-kept.jsonl"));
        Assert.True(verify.ExitCode == 0, verify.ToString());
        var bytes = File.ReadAllBytes(dir.File("native-kept.jsonl"));
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(dir.File("native-kept.jsonl"), bytes);
        Assert.Equal(1, (await _native.RunAsync(dir.Path, "verify", dir.File("native-kept.jsonl"))).ExitCode);
    }

    [LinuxFact]
    public async Task CompressedInput_AndCompiledSnapshot_MatchTheManagedCli()
    {
        using var dir = new TempDirectory();
        var gz = dir.File("records.jsonl.gz");
        await using (var target = File.Create(gz))
        await using (var zip = new GZipStream(target, CompressionLevel.Fastest))
        {
            await zip.WriteAsync(await File.ReadAllBytesAsync(Path.Combine(_native.Root, "samples", "records.jsonl")));
        }

        var build = await _native.RunAsync(dir.Path, "snapshot", "build", "--consent", Sample(Consent), "--out", dir.File("consent.snap"));
        Assert.True(build.ExitCode == 0, build.ToString());
        var info = await _native.RunAsync(dir.Path, "snapshot", "info", dir.File("consent.snap"));
        Assert.True(info.ExitCode == 0 && info.StdOut.Contains("users", StringComparison.Ordinal), info.ToString());

        var code = await BothAsync(dir, "kept.jsonl.zst", name => ["filter", "--records", gz, "--consent", dir.File("consent.snap"), "--jurisdictions", Sample(Table),
            "--subject-field", "recipients", "--out", name("kept.jsonl.zst"), "--no-manifest"]);
        Assert.Equal(0, code);
    }

    [LinuxFact]
    public async Task CsvParquetAndArrowRecords_MatchTheManagedCli()
    {
        using var dir = new TempDirectory();
        var corpus = new TabularCorpus(400);
        var consent = dir.Write("consent.csv", TabularCorpus.Consent);
        var csv = dir.Write("records.csv", corpus.Csv());
        var parquet = dir.File("records.parquet");
        await corpus.WriteParquetAsync(parquet, rowGroupSize: 64);
        var arrow = dir.File("records.arrow");
        await corpus.WriteArrowAsync(arrow, batchSize: 64, file: true);

        string[] Args(string input, string output) => ["filter", "--records", input, "--consent", consent, "--jurisdictions", Sample(Table),
            "--subject-field", "recipients", "--out", output];

        Assert.Equal(0, await BothAsync(dir, "kept.csv", name => Args(csv, name("kept.csv"))));

        // ParquetSharp (its native library published beside the executable) and Apache.Arrow run in the native build.
        Assert.Equal(0, await BothAsync(dir, "kept.parquet", name => Args(parquet, name("kept.parquet"))));
        Assert.Equal(0, await BothAsync(dir, "kept.arrow", name => Args(arrow, name("kept.arrow"))));
        var verify = await _native.RunAsync(dir.Path, "verify", dir.File("native-kept.parquet"));
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }

    [LinuxFact]
    public async Task Explain_AndUsageErrors_MatchTheManagedCli()
    {
        string[][] commands =
        [
            ["explain", "--consent", Sample(Consent), "--jurisdictions", Sample(Table), "--user", "u0001"],
            ["filter", "--records", "nope.jsonl", "--consent", Sample(Consent), "--out", "x.jsonl"],
            ["filtr"],
        ];
        using var dir = new TempDirectory();
        foreach (var args in commands)
        {
            var managed = await CliProcess.RunInProcessAsync(args);
            var native = await _native.RunAsync(dir.Path, args);
            Assert.True(managed.ExitCode == native.ExitCode, $"{string.Join(' ', args)}\n{managed}\n{native}");
            Assert.Equal(managed.StdOut.ReplaceLineEndings("\n"), native.StdOut.ReplaceLineEndings("\n"));
        }

        // In process the version is the test host's; the native executable reports the tool's own.
        var version = await _native.RunAsync(dir.Path, "--version");
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.StartsWith(typeof(ConsentFilter.Pipeline.RecordFilter).Assembly.GetName().Version!.ToString(3), version.StdOut, StringComparison.Ordinal);
    }

    [LinuxFact]
    public async Task Avx512Twin_RunsExactlyWhereTheKernelReportsAvx512_AndGivesTheBaselinesBytes()
    {
        if (!X64)
        {
            return;
        }

        // The oracle is read here, independently of the tool's own check: every x86-64-v4 feature in /proc/cpuinfo.
        var flags = File.ReadLines("/proc/cpuinfo").First(line => line.StartsWith("flags", StringComparison.Ordinal)).Split(' ');
        var avx512 = new[] { "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl" }.All(flags.Contains);
        using var dir = new TempDirectory();
        var chosen = await _native.RunAsync(dir.Path, "--version");
        var baseline = await _native.RunAsync(dir.Path, s_baseline, "--version");
        Assert.EndsWith(avx512 ? "(native, x86-64-v4)" : "(native, x86-64-v3)", chosen.StdOut.TrimEnd(), StringComparison.Ordinal);
        Assert.EndsWith("(native, x86-64-v3)", baseline.StdOut.TrimEnd(), StringComparison.Ordinal);

        // Same bytes from both executables: kept, rejected and quarantined records, and the manifest's digests.
        var records = Path.Combine(_native.Root, "samples", "records.jsonl");
        string[] Args(string prefix) => ["filter", "--records", records, "--consent", Sample(Consent), "--jurisdictions", Sample(Table), "--subject-field", "recipients",
            "--out", dir.File(prefix + "kept.jsonl"), "--rejected", dir.File(prefix + "rejected.jsonl"), "--quarantine", dir.File(prefix + "quarantine.jsonl")];
        var wide = await _native.RunAsync(dir.Path, Args("wide-"));
        var narrow = await _native.RunAsync(dir.Path, s_baseline, Args("narrow-"));
        Assert.True(wide.ExitCode == 0 && narrow.ExitCode == 0, $"{wide}\n{narrow}");
        foreach (var file in new[] { "kept.jsonl", "rejected.jsonl", "quarantine.jsonl" })
        {
            Assert.Equal(File.ReadAllBytes(dir.File("narrow-" + file)), File.ReadAllBytes(dir.File("wide-" + file)));
        }

        Assert.Equal(Digests(dir.File("narrow-kept.jsonl.manifest.json")), Digests(dir.File("wide-kept.jsonl.manifest.json")));
        var crossVerify = await _native.RunAsync(dir.Path, s_baseline, "verify", dir.File("wide-kept.jsonl"));
        Assert.True(crossVerify.ExitCode == 0, crossVerify.ToString());

        // Arguments cross the hand-over byte for byte (spaces, non-ASCII, an empty one): the same explanation either way.
        var table = dir.File("jürisdictions ✓ 😀 \"x\".csv");
        File.Copy(Sample(Table), table);
        string[] explain = ["explain", "--consent", Sample(Consent), "--jurisdictions", table, "--user", "u0001", "--region", ""];
        var wideExplain = await _native.RunAsync(dir.Path, explain);
        var narrowExplain = await _native.RunAsync(dir.Path, s_baseline, explain);
        Assert.Equal((narrowExplain.ExitCode, narrowExplain.StdOut, narrowExplain.StdErr), (wideExplain.ExitCode, wideExplain.StdOut, wideExplain.StdErr));
        Assert.True(wideExplain.ExitCode == 0 && wideExplain.StdOut.Contains(table, StringComparison.Ordinal), wideExplain.ToString());
    }

    [LinuxFact]
    public async Task InstalledCommand_AfterTheHandOver_StillStopsOnSigtermAndCommitsNothing()
    {
        // The hand-over is execv: signal dispositions and masks carry over into the new image, so a mistake there would
        // leave SIGTERM blocked or ignored in the process that actually runs. Runs the installed command as users do.
        using var dir = new TempDirectory();
        var fifo = dir.File("records.fifo");
        Fifo.Make(fifo);
        var before = dir.FileNames();
        using var cli = RunningCli.Start(dir.Path, ["filter", "--records", fifo, "--consent", Sample(Consent), "--jurisdictions", Sample(Table), "--out", dir.File("kept.jsonl")],
            executable: _native.InstalledCommand);
        var opened = Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1));
        await opened.WaitAsync(TimeSpan.FromSeconds(30));

        // The filter opened its records: the process is past the hand-over and has its signal handlers.
        var running = new FileInfo($"/proc/{cli.Id}/exe").ResolveLinkTarget(returnFinalTarget: true)?.Name;
        Assert.Equal(X64 && (await _native.RunAsync(dir.Path, "--version")).StdOut.Contains("x86-64-v4", StringComparison.Ordinal) ? Avx512Twin : "consentfilter", running);
        await using (var pipe = await opened)
        {
            await pipe.WriteAsync("{\"user_id\":\"u0001\",\"text\":\"x\"}\n"u8.ToArray());
            await pipe.FlushAsync();
            await cli.SignalAsync("TERM");
        }

        // Closing the write end ends the read the kernel cannot interrupt.
        var result = await cli.WaitAsync();
        Assert.True(result.ExitCode == 143, result.ToString());
        Assert.Contains("stopped by SIGTERM", result.StdErr, StringComparison.Ordinal);
        Assert.Equal(before, dir.FileNames());
    }

    private const string Avx512Twin = "consentfilter-x86-64-v4";

    private static readonly Dictionary<string, string> s_baseline = new() { ["CONSENTFILTER_NATIVE_VARIANT"] = "baseline" };

    private static bool X64 => System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64;

    /// <summary>The manifest's digest values (outputs and inputs), without what differs between runs (paths, times).</summary>
    private static string[] Digests(string manifest) =>
        [.. System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(manifest), "\"blake3\":\\s*\"([0-9a-f]{64})\"").Select(match => match.Groups[1].Value)];

    private string Sample(string relative) => Path.Combine(_native.Root, relative);

    /// <summary>Runs the same command in process and natively (outputs prefixed managed-/native-); asserts equal exit codes and <paramref name="compare"/> bytes.</summary>
    private async Task<int> BothAsync(TempDirectory dir, string compare, Func<Func<string, string>, string[]> command)
    {
        var managed = await CliProcess.RunInProcessAsync(command(name => dir.File("managed-" + name)));
        var native = await _native.RunAsync(dir.Path, command(name => dir.File("native-" + name)));
        Assert.True(managed.ExitCode == native.ExitCode, $"{managed}\n{native}");
        Assert.Equal(File.ReadAllBytes(dir.File("managed-" + compare)), File.ReadAllBytes(dir.File("native-" + compare)));
        return native.ExitCode;
    }

    /// <summary>
    /// Packs the tool once as .ci/pack-tool does (the pointer package and this machine's native package; not the
    /// framework-dependent one, which this machine would not install) into a local feed, and installs it into a tool
    /// path with a private package cache.
    /// </summary>
    public sealed class NativeCli : IAsyncLifetime
    {
        private static readonly TimeSpan s_setupTimeout = TimeSpan.FromMinutes(30);
        private readonly TempDirectory _work = new();
        private string? _executable;
        private string? _setupError;

        internal string Root { get; } = RepositoryRoot();

        public async Task InitializeAsync()
        {
            if (!OperatingSystem.IsLinux())
            {
                return;
            }

#if DEBUG
            const string testConfiguration = "Debug";
#else
            const string testConfiguration = "Release";
#endif
            var project = Path.Combine(Root, "src", "ConsentFilter.Cli");
            var feed = Path.Combine(_work.Path, "feed");
            var tools = Path.Combine(_work.Path, "tools");
            var rid = "linux-" + System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();
            string[][] steps =
            [
                // The pointer package only lists the RID packages: the test build's output serves, nothing is compiled.
                ["pack", project, "-c", testConfiguration, "--no-build", "-o", feed, "-nologo"],
                ["pack", project, "-c", "Release", "-r", rid, "-o", feed, "-nologo"],
                // A private package cache, so a ConsentFilter.Cli 0.1.0 cached by an earlier run cannot be installed instead.
                ["tool", "install", "--tool-path", tools, "--add-source", feed, "--ignore-failed-sources", "ConsentFilter.Cli"],
            ];
            using var timeout = new CancellationTokenSource(s_setupTimeout);
            foreach (var step in steps)
            {
                var (code, output) = await DotnetAsync(_work.Path, step, step[0] == "tool" ? Path.Combine(_work.Path, "nuget") : null, timeout.Token);
                if (code != 0)
                {
                    _setupError = $"dotnet {string.Join(' ', step)} failed (exit {code}):\n{output}";
                    return;
                }
            }

            _executable = Path.Combine(tools, "consentfilter");
        }

        public Task DisposeAsync()
        {
            _work.Dispose();
            return Task.CompletedTask;
        }

        /// <summary>The file the installed command runs (the tool path holds a link to it).</summary>
        internal string InstalledExecutable()
        {
            var command = _executable ?? throw new InvalidOperationException(_setupError ?? "no native build on this platform");
            return new FileInfo(command).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? command;
        }

        /// <summary>The installed command (the link in the tool path), as users run it.</summary>
        internal string InstalledCommand => _executable ?? throw new InvalidOperationException(_setupError ?? "no native build on this platform");

        internal Task<CliResult> RunAsync(string workingDirectory, params string[] args) => RunAsync(workingDirectory, new Dictionary<string, string>(), args);

        internal async Task<CliResult> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args)
        {
            var start = CliProcess.StartInfo(workingDirectory, args, InstalledCommand);
            foreach (var (name, value) in environment)
            {
                start.Environment[name] = value;
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the native CLI");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            return new CliResult(process.ExitCode, await stdout, await stderr);
        }

        private static string RepositoryRoot()
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "ConsentFilter.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new DirectoryNotFoundException($"no ConsentFilter.sln above {AppContext.BaseDirectory}");
        }

        private static async Task<(int Code, string Output)> DotnetAsync(string workingDirectory, string[] args, string? packageCache, CancellationToken cancellationToken)
        {
            var start = new ProcessStartInfo(Dotnet()) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            start.Environment["DOTNET_NOLOGO"] = "1";
            if (packageCache is not null)
            {
                start.Environment["NUGET_PACKAGES"] = packageCache;
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"timed out after {s_setupTimeout}");
            }

            return (process.ExitCode, await stdout + await stderr);
        }

        private static string Dotnet() =>
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
    }
}
