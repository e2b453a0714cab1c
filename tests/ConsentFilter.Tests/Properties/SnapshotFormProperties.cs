using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Tests.Support;
using FsCheck.Xunit;
using Parquet;
using Parquet.Schema;

namespace ConsentFilter.Tests.Properties;

/// <summary>
/// Equivalence of snapshot forms (issue 14, "snapshots decide identically for the same consent"): the same generated
/// consent rows — several per user, dated and undated, conflicting, in every spelling — loaded from CSV, from Parquet
/// (typed columns: booleans, timestamps, nulls), compiled in memory and built in bounded memory with runs of a few rows
/// give the same verdict for every user (and an unknown one) in every record region.
/// </summary>
public sealed class SnapshotFormProperties
{
    private static readonly string?[] s_recordRegions = [null, "US", "US-CA", "US-TX", "DE", "FR", "CN", "BR", "GB", "JP"];

    [Property(MaxTest = 40, Arbitrary = [typeof(RecordFilterProperties.Arbitraries)])]
    public async Task CsvParquetCompiledAndExternal_DecideIdentically(Scenario scenario)
    {
        using var dir = new TempDirectory();
        var csvPath = dir.File("consent.csv");
        await File.WriteAllBytesAsync(csvPath, scenario.ConsentCsv());
        var parquetPath = dir.File("consent.parquet");
        await WriteParquetAsync(scenario, parquetPath);
        var purposes = new[] { Scenario.Purpose };

        var csvPolicy = scenario.BuildPolicy();
        var table = csvPolicy.Jurisdictions;
        var fromCsv = (ConsentSnapshot)csvPolicy.Snapshot;
        var fromParquet = SnapshotFiles.Open(parquetPath, purposes);
        var compiledPath = dir.File("compiled.snap");
        CompiledSnapshotBuilder.Build(fromCsv, compiledPath);
        var externalPath = dir.File("external.snap");
        CompiledSnapshotBuilder.BuildFromCsv(new MemoryStream(scenario.ConsentCsv()), "consent.csv", externalPath, purposes, new SnapshotBuildOptions { RunRows = 3 }, default);
        using var compiled = CompiledSnapshot.Open(compiledPath);
        using var external = CompiledSnapshot.Open(externalPath);

        var forms = new (string Name, IConsentSnapshot Snapshot)[] { ("parquet", fromParquet), ("compiled", compiled), ("external", external) };
        Assert.All(forms, f => Assert.Equal(fromCsv.Info.Users, f.Snapshot.Info.Users));
        foreach (var user in scenario.Rows.Select(r => r.UserId).Distinct().Append("ghost"))
        {
            var id = Encoding.UTF8.GetBytes(user);
            foreach (var region in s_recordRegions)
            {
                var match = region is null ? (RegionMatch?)null : csvPolicy.ResolveRegion(region);
                var expected = csvPolicy.Decide(id, match);
                foreach (var (name, snapshot) in forms)
                {
                    var policy = new ConsentPolicy(snapshot, table, Scenario.Purpose, scenario.UnknownUsers);
                    var actual = policy.Decide(id, region is null ? null : policy.ResolveRegion(region));
                    Assert.True(expected == actual, $"{name}: user '{user}' in {region ?? "(home)"}: {actual}, CSV {expected}\n{scenario}");
                }
            }
        }
    }

    /// <summary>The rows as a data engineer's Parquet export would hold them: typed booleans and timestamps, SQL-style nulls.</summary>
    private static async Task WriteParquetAsync(Scenario scenario, string path)
    {
        var schema = new ParquetSchema(
            new DataField<string>("user_id"),
            new DataField<string>("region"),
            new DataField<string>(Scenario.Purpose),
            new DataField<bool>("gpc"),
            new DataField<bool>("minor"),
            new DateTimeDataField("updated_at", DateTimeFormat.DateAndTime, isAdjustedToUTC: true, unit: null, isNullable: true));
        var fields = schema.GetDataFields();
        var rows = scenario.Rows;
        await using var file = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, file, null, false, default);
        foreach (var chunk in rows.Chunk(4).DefaultIfEmpty([]))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(fields[0], chunk.Select(r => r.UserId).ToArray());
            await group.WriteAsync(fields[1], chunk.Select(r => r.Region.Length == 0 ? null! : r.Region).ToArray());
            await group.WriteAsync(fields[2], chunk.Select(r => Scenario.StateSpelling(r)).ToArray());
            await group.WriteAsync<bool>(fields[3], chunk.Select(r => r.Gpc).ToArray(), null, null, default);
            await group.WriteAsync<bool>(fields[4], chunk.Select(r => r.Minor).ToArray(), null, null, default);
            await group.WriteAsync<DateTime>(fields[5], chunk.Select(r => r.UpdatedAt?.UtcDateTime).ToArray(), null, null, default);
            group.CompleteValidate();
        }
    }
}
