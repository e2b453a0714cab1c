using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Jurisdictions;
using ConsentFilter.Pipeline;
using ConsentFilter.Telemetry;

namespace ConsentFilter.Tests.Telemetry;

/// <summary>Metrics and the run span agree with the report; progress ends at the report's totals.</summary>
[Collection("telemetry")]
public sealed class TelemetryTests
{
    [Fact]
    public async Task Run_MetricsSpanAndProgress_MatchTheReport()
    {
        var counters = new ConcurrentDictionary<string, long>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ConsentFilterTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name + (tags.Length > 0 ? ":" + tags[0].Value : string.Empty);
            counters.AddOrUpdate(key, value, (_, old) => old + value);
        });
        meters.Start();

        var spans = new ConcurrentBag<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ConsentFilterTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(activities);

        var snapshot = ConsentSnapshot.LoadCsv(new MemoryStream("user_id,region,ai_training\nu1,US,granted\nu2,US,denied\n"u8.ToArray()), "c.csv", ["ai_training"]);
        var policy = new ConsentPolicy(snapshot, JurisdictionTable.BuiltIn, "ai_training");
        var progress = new List<FilterProgress>();
        var filter = new RecordFilter(policy, new ConsentFilterOptions { BatchBytes = 4096 }) { Progress = new SyncProgress(progress) };
        var lines = new StringBuilder();
        for (var i = 0; i < 3000; i++)
        {
            lines.Append(i % 3 == 0 ? "{\"user_id\":\"u1\"}\n" : i % 3 == 1 ? "{\"user_id\":\"u2\"}\n" : "not json\n");
        }

        var report = await filter.RunAsync([RecordInput.FromStream(new MemoryStream(Encoding.UTF8.GetBytes(lines.ToString())), "r.jsonl")], new FilterOutputs(Stream.Null));
        meters.RecordObservableInstruments();

        Assert.Equal(1000, report.Totals.Kept);
        Assert.Equal(report.Totals.Records, counters["consentfilter.records.read"]);
        Assert.Equal(report.Totals.Kept, counters["consentfilter.records.kept"]);
        Assert.Equal(1000, counters["consentfilter.records.dropped:opted_out"]);
        Assert.Equal(1000, counters["consentfilter.records.quarantined:invalid_json"]);
        var span = Assert.Single(spans, s => s.OperationName == "consentfilter.filter");
        Assert.Equal(3000L, span.GetTagItem("consentfilter.records"));
        Assert.True(progress.Count > 1);
        Assert.Equal(report.Totals.Records, progress[^1].Records);
        Assert.Equal(report.Totals.Kept, progress[^1].Kept);
    }

    private sealed class SyncProgress(List<FilterProgress> values) : IProgress<FilterProgress>
    {
        public void Report(FilterProgress value) => values.Add(value);
    }
}

/// <summary>Listeners are process-wide: telemetry tests run alone so other tests' runs do not add to the counts.</summary>
[CollectionDefinition("telemetry", DisableParallelization = true)]
public sealed class TelemetryCollection;
