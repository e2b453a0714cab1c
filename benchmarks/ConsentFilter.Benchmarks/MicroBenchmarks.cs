using System.Text;
using BenchmarkDotNet.Attributes;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;

namespace ConsentFilter.Benchmarks;

/// <summary>The hot pieces, one record at a time: field extraction, snapshot lookup (both forms), decision.</summary>
/// <remarks>Run with: <c>dotnet run -c Release --project benchmarks/ConsentFilter.Benchmarks -- --filter '*'</c>.</remarks>
[MemoryDiagnoser]
public class RecordBenchmarks : IDisposable
{
    private byte[] _line = [];
    private byte[] _userId = [];
    private LineFields _fields = null!;
    private JsonRecordDecider _decider = null!;
    private ConsentPolicy _policy = null!;
    private ConsentSnapshot _csv = null!;
    private CompiledSnapshot _compiled = null!;
    private RegionMatch _region;

    [GlobalSetup]
    public void Setup()
    {
        var directory = Path.Combine(Path.GetTempPath(), "consentfilter-micro");
        var corpus = CorpusGenerator.Generate(directory, 1000, 200_000, 42);
        _line = File.ReadLines(corpus.Records).Select(Encoding.UTF8.GetBytes).First(l => l.AsSpan().IndexOf("recipients"u8) >= 0);
        _userId = "u12345"u8.ToArray();
        _csv = ConsentSnapshot.LoadCsv(corpus.Consent, ["ai_training"]);
        var snap = Path.Combine(directory, "micro.snap");
        CompiledSnapshotBuilder.Build(_csv, snap);
        _compiled = CompiledSnapshot.Open(snap);
        var table = JurisdictionTable.LoadFile(corpus.Jurisdictions);
        _policy = new ConsentPolicy(_compiled, table, "ai_training");
        _fields = new LineFields(new FieldPaths("user_id", "region", "id", ["recipients"]));
        _decider = new JsonRecordDecider(_policy);
        _region = _policy.ResolveRegion("US-CA");
    }

    [Benchmark]
    public MalformedKind ParseLine() => JsonLineParser.Parse(_line, _fields);

    [Benchmark]
    public bool LookupCsvSnapshot() => _csv.TryGetUser(_userId, out _);

    [Benchmark]
    public bool LookupCompiledSnapshot() => _compiled.TryGetUser(_userId, out _);

    [Benchmark]
    public SubjectVerdict DecideSubject() => _policy.Decide(_userId, _region);

    [Benchmark]
    public RecordVerdict ParseAndDecideRecord()
    {
        JsonLineParser.Parse(_line, _fields);
        return _decider.Decide(_line, _fields);
    }

    public void Dispose()
    {
        _compiled?.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Cutting a block into lines: the splitter against a bare IndexOf loop.</summary>
[MemoryDiagnoser]
public class LineSplitBenchmarks
{
    private byte[] _block = [];

    [GlobalSetup]
    public void Setup()
    {
        var corpus = CorpusGenerator.Generate(Path.Combine(Path.GetTempPath(), "consentfilter-micro"), 1000, 200_000, 42);
        _block = File.ReadAllBytes(corpus.Records);
    }

    [Benchmark(Baseline = true)]
    public int IndexOfLoop()
    {
        var span = _block.AsSpan();
        var lines = 0;
        int lf;
        while ((lf = span.IndexOf((byte)'\n')) >= 0)
        {
            span = span[(lf + 1)..];
            lines++;
        }

        return lines;
    }

    [Benchmark]
    public async Task<int> LineSplitter()
    {
        using var stream = new MemoryStream(_block, writable: false);
        var splitter = new LineSplitter(stream, 0, ConsentFilterDefaults.BatchBytes, ConsentFilterDefaults.MaxLineLength);
        var lines = 0;
        while (await splitter.ReadBatchAsync(CancellationToken.None).ConfigureAwait(false) is { } batch)
        {
            lines += batch.Count;
            batch.Release();
        }

        return lines;
    }
}

/// <summary>Validating and scanning whole lines of the realistic corpus (issue 13), one worker's share: the parser's cost per byte.</summary>
/// <remarks>Run with: <c>dotnet run -c Release --project benchmarks/ConsentFilter.Benchmarks -- --filter '*LineParsing*'</c>.</remarks>
public class LineParsingBenchmarks
{
    private byte[][] _lines = [];
    private LineFields _fields = null!;

    /// <summary>Bytes parsed per invocation (the lines without their line ends), for ns per byte.</summary>
    public long Bytes { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        var corpus = CorpusGenerator.Generate(Path.Combine(Path.GetTempPath(), "consentfilter-micro"), 2000, 200_000, 42);
        _lines = [.. File.ReadLines(corpus.Records).Select(Encoding.UTF8.GetBytes)];
        Bytes = _lines.Sum(l => (long)l.Length);
        _fields = new LineFields(new FieldPaths("user_id", "region", "id", ["recipients"]));
        Console.WriteLine($"// {_lines.Length} lines, {Bytes:N0} bytes");
    }

    /// <summary>The validator as the parser calls it (AVX-512 where the CPU has it), and its 32-byte form, which the
    /// x86-64-v3 build and CPUs without AVX-512 run.</summary>
    [Params("dispatch", "avx2")]
    public string Validator { get; set; } = "dispatch";

    [Benchmark]
    public int ValidateUtf8()
    {
        var avx2 = Validator == "avx2";
        var valid = 0;
        foreach (var line in _lines)
        {
            valid += (avx2 ? ConsentFilter.Internal.Utf8Validator.IsValidAvx2(line) : ConsentFilter.Internal.Utf8Validator.IsValid(line)) ? 1 : 0;
        }

        return valid;
    }

    [Benchmark]
    public int ParseLines()
    {
        var parsed = 0;
        foreach (var line in _lines)
        {
            parsed += JsonLineParser.Parse(line, _fields) == MalformedKind.None ? 1 : 0;
        }

        return parsed;
    }
}
