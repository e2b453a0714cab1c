using System.Diagnostics.Metrics;
using System.Text;
using ConsentFilter.Pipeline;
using ConsentFilter.Records;
using ConsentFilter.Tests.Tabular;

namespace ConsentFilter.Tests.Decisions;

/// <summary>The typed-row API decides exactly as a record file does, and its tally counts like a report.</summary>
public sealed class TypedRowApiTests
{
    [Fact]
    public async Task DecideRecord_EveryCorpusRecord_SameVerdictAsTheJsonLinesPipeline()
    {
        var corpus = new TabularCorpus(800, seed: 11);
        var policy = TabularCorpus.Policy();
        var options = new ConsentFilterOptions();
        options.SubjectFields.Add("recipients");
        using var filter = new RecordFilter(policy, options);
        var results = new List<RecordResult>();
        await foreach (var result in filter.DecideAsync(RecordInput.FromStream(new MemoryStream(Encoding.UTF8.GetBytes(corpus.Jsonl())), "corpus")))
        {
            results.Add(result);
        }

        Assert.Equal(corpus.Records.Count, results.Count);
        var tally = new RecordTally();
        for (var i = 0; i < results.Count; i++)
        {
            var record = corpus.Records[i];
            if (results[i].Outcome == RecordOutcome.Quarantined)
            {
                Assert.True(string.IsNullOrEmpty(record.User) || record.Subjects.Any(string.IsNullOrEmpty));
                tally.AddQuarantined(results[i].Error);
                continue;
            }

            var verdict = policy.DecideRecord(record.User!, record.Region, record.Subjects);
            Assert.Equal(results[i].Verdict, verdict);
            tally.Add(verdict);
        }

        var report = await filter.RunAsync([RecordInput.FromStream(new MemoryStream(Encoding.UTF8.GetBytes(corpus.Jsonl())), "corpus")], new FilterOutputs(Stream.Null));
        Assert.Equal(report.Totals.Kept, tally.Counts.Kept);
        Assert.Equal(report.Totals.DroppedTotal, tally.Counts.DroppedTotal);
        Assert.Equal(report.Totals.QuarantinedTotal, tally.Counts.QuarantinedTotal);
        foreach (var (code, counts) in report.Totals.ByRegion)
        {
            Assert.Equal(counts.Kept, tally.Counts.ByRegion[code].Kept);
        }
    }

    [Theory]
    [InlineData("us-ca")]
    [InlineData(" US-CA ")]
    [InlineData("Us-Ca")]
    public void DecideRecord_RawRegion_NormalizedLikeARecords(string region)
    {
        var policy = TestData.Policy("user_id,region,ai_training\nu,,unset\n", "code,regime\nUS-CA,opt-out\n*,excluded\n");
        var verdict = policy.DecideRecord("u", region, null);
        Assert.True(verdict.IsKept);
        Assert.Equal("US-CA", verdict.Region.Code);
    }

    [Fact]
    public void DecideRecord_EmptyIds_AreRefused()
    {
        var policy = TabularCorpus.Policy();
        Assert.Throws<ArgumentException>(() => policy.DecideRecord("", null, null));
        Assert.Throws<ArgumentException>(() => policy.DecideRecord("u00", null, [""]));
        Assert.Throws<ArgumentException>(() => policy.DecideRecord([], null, null));
    }

    [Fact]
    public void Tally_Flush_FeedsTheMeterOnce()
    {
        long kept = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ConsentFilter.Telemetry.ConsentFilterTelemetry.Name && instrument.Name == "consentfilter.records.kept")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref kept, value));
        listener.Start();

        var policy = TabularCorpus.Policy();
        var tally = new RecordTally();
        tally.Add(policy.DecideRecord("u00", "US", null));
        tally.Add(policy.DecideRecord("u00", "US", null));
        tally.AddQuarantined(MalformedKind.MissingUserId);
        var before = Interlocked.Read(ref kept);
        tally.Flush();
        tally.Flush();

        Assert.Equal(2, tally.Counts.Kept);
        Assert.Equal(3, tally.Counts.Records);
        Assert.True(Interlocked.Read(ref kept) - before >= 2);
    }

    [Fact]
    public void ReadmeSnippet_TypedRowApi_RunsAsWritten()
    {
        // The README's lines, verbatim, against the sample files.
        var root = Docs.ReadmeTests.RepositoryRoot();
        var options = new ConsentFilterOptions { Purpose = "ai_training" };
        options.SubjectFields.Add("recipients");
        using var filter = RecordFilter.Load(Path.Combine(root, "samples", "consent.csv"), Path.Combine(root, "samples", "jurisdictions.csv"), options);
        var tally = new RecordTally();
        ConsentFilter.Decisions.RecordVerdict verdict = filter.Policy.DecideRecord("u0007", "us-ca", ["u0002"]);
        tally.Add(verdict);
        tally.Flush();
        Assert.Equal(1, tally.Counts.Records);
        Assert.Contains("var tally = new RecordTally();", File.ReadAllText(Path.Combine(root, "README.md")), StringComparison.Ordinal);
    }
}
