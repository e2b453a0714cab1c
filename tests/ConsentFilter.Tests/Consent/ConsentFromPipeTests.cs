using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Pipeline;
using ConsentFilter.Tests.Support;

namespace ConsentFilter.Tests.Consent;

/// <summary>
/// Consent from a source that cannot be read twice (a FIFO, as <c>--consent &lt;(psql … COPY … TO STDOUT)</c> gives): copied
/// once to a private temporary file, then read as a file would be; the snapshot and its errors name the pipe, and the
/// copy is gone afterwards.
/// </summary>
public sealed class ConsentFromPipeTests : IDisposable
{
    private const string Csv = "user_id,region,ai_training,updated_at\nu1,DE,granted,2026-01-01T00:00:00Z\nu2,US,denied,\nu1,DE,denied,2026-01-01T00:00:00Z\n";

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [LinuxFact]
    public void FilterLoad_CsvFromAFifo_DecidesAsTheFileAndNamesThePipe()
    {
        var file = _temp.Write("consent.csv", Csv);
        var fifo = _temp.File("consent.fifo");
        Fifo.Make(fifo);
        var before = Spools();
        var writer = Task.Run(() => File.WriteAllText(fifo, Csv));
        using var fromPipe = Within(fifo, () => RecordFilter.Load(fifo, null, new ConsentFilterOptions()));
        writer.Wait();
        using var fromFile = RecordFilter.Load(file, null, new ConsentFilterOptions());

        var pipeInfo = fromPipe.Policy.Snapshot.Info;
        Assert.Equal(fifo, pipeInfo.Source);
        Assert.Equal(fromFile.Policy.Snapshot.Info with { Source = fifo }, pipeInfo);
        foreach (var id in new[] { "u1", "u2", "u3" })
        {
            var a = fromFile.Policy.Snapshot.TryGetUser(Encoding.UTF8.GetBytes(id), out var fileConsent);
            var b = fromPipe.Policy.Snapshot.TryGetUser(Encoding.UTF8.GetBytes(id), out var pipeConsent);
            Assert.Equal(a, b);
            Assert.Equal((fileConsent.States, fileConsent.Gpc, fileConsent.Minor), (pipeConsent.States, pipeConsent.Gpc, pipeConsent.Minor));
        }

        Assert.Equal(before, Spools());
    }

    [LinuxFact]
    public void LoadCsv_FromAFifo_ReadsItOnceAsPurgeAndSnapshotDiffDo()
    {
        var fifo = _temp.File("consent.fifo");
        Fifo.Make(fifo);
        var writer = Task.Run(() => File.WriteAllText(fifo, Csv));
        var loaded = Within(fifo, () => ConsentSnapshot.LoadCsv(fifo, ["ai_training"]));
        writer.Wait();
        var fromFile = ConsentSnapshot.LoadCsv(_temp.Write("consent.csv", Csv), ["ai_training"]);
        Assert.Equal(fromFile.Info with { Source = fifo }, loaded.Info);
        Assert.Equal(fromFile.Users.Count, loaded.Users.Count);
    }

    [LinuxFact]
    public void FilterLoad_CompiledSnapshotFromAFifo_IsMappedFromItsCopyAndNamesThePipe()
    {
        var file = _temp.Write("consent.csv", Csv);
        var snap = _temp.File("consent.snap");
        CompiledSnapshotBuilder.BuildFromCsv(file, snap, ["ai_training"]);
        var fifo = _temp.File("snap.fifo");
        Fifo.Make(fifo);
        var before = Spools();
        var writer = Task.Run(() => File.WriteAllBytes(fifo, File.ReadAllBytes(snap)));
        using (var fromPipe = Within(fifo, () => RecordFilter.Load(fifo, null, new ConsentFilterOptions())))
        {
            writer.Wait();
            Assert.Equal(fifo, fromPipe.Policy.Snapshot.Info.Source);
            Assert.Equal(SnapshotForm.Compiled, fromPipe.Policy.Snapshot.Info.Form);
            Assert.True(fromPipe.Policy.Snapshot.TryGetUser("u1"u8, out var u1));
            Assert.Equal(ConsentState.Denied, u1.States[0]);
        }

        Assert.Equal(before, Spools());
    }

    [LinuxFact]
    public void FilterLoad_InvalidCsvFromAFifo_NamesThePipeAndLineAndLeavesNoCopy()
    {
        var fifo = _temp.File("consent.fifo");
        Fifo.Make(fifo);
        var before = Spools();
        var writer = Task.Run(() => File.WriteAllText(fifo, "user_id,ai_training\nu1,granted\nu2,maybe\n"));
        var error = Within(fifo, () => Assert.Throws<DataFileException>(() => RecordFilter.Load(fifo, null, new ConsentFilterOptions())));
        writer.Wait();
        Assert.Equal($"{fifo}:3:2: invalid consent value 'maybe' (expected granted/denied/unset or a synonym)", error.Message);
        Assert.Equal(before, Spools());
    }

    /// <summary>
    /// Runs <paramref name="load"/>, failing (not hanging) if it blocks: reading a FIFO a second time waits for a writer that
    /// is gone. Such a reader is released by opening the FIFO for writing once, so the test run can end.
    /// </summary>
    private static T Within<T>(string fifo, Func<T> load)
    {
        var task = Task.Run(load);
        if (!task.Wait(TimeSpan.FromSeconds(30)))
        {
            using (new FileStream(fifo, FileMode.Open, FileAccess.Write))
            {
            }

            Assert.Fail($"reading the consent from {fifo} blocked (opened it a second time?)");
        }

        return task.GetAwaiter().GetResult();
    }

    private static string[] Spools() =>
        [.. Directory.GetDirectories(Path.GetTempPath(), "consentfilter-consent-*").Order(StringComparer.Ordinal)];
}
