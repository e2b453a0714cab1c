using System.Text;
using ConsentFilter.Consent;
using ConsentFilter.Decisions;
using ConsentFilter.Tests.Support;
using Parquet;
using Parquet.Schema;

namespace ConsentFilter.Tests.Tabular;

public sealed class ConsentParquetTests
{
    [Fact]
    public async Task ParquetConsent_SameAsCsv_SameSnapshotAndDecisions()
    {
        using var dir = new TempDirectory();
        var csvPath = dir.Write("consent.csv", TabularCorpus.Consent);
        var rows = TabularCorpus.Consent.Split('\n').Skip(1).Select(l => l.Trim().Split(',')).ToArray();
        var schema = new ParquetSchema(
            new DataField<string>("user_id"),
            new DataField<string>("Region"),
            new DataField<string>("ai_training"),
            new DataField<bool>("gpc"),
            new DataField<bool?>("minor"),
            new DataTimeField("updated_at"),
            new DataField<double>("unrelated"));
        var parquetPath = dir.File("consent.parquet");
        await using (var file = File.Create(parquetPath))
        await using (var writer = await ParquetWriter.CreateAsync(schema, file, null, false, default))
        {
            var f = schema.GetDataFields();
            foreach (var chunk in rows.Chunk(5))
            {
                using var group = writer.CreateRowGroup();
                await group.WriteAsync(f[0], chunk.Select(r => r[0]).ToArray());
                await group.WriteAsync(f[1], chunk.Select(r => r[1].Length == 0 ? null! : r[1]).ToArray());
                await group.WriteAsync(f[2], chunk.Select(r => r[2]).ToArray());
                await group.WriteAsync<bool>(f[3], chunk.Select(r => r[3] == "true").ToArray(), null, null, default);
                await group.WriteAsync<bool>(f[4], chunk.Select(r => (bool?)(r[4] == "true")).ToArray(), null, null, default);
                await group.WriteAsync<DateTime>(f[5], chunk.Select(r => r[5].Length == 0 ? (DateTime?)null : DateTime.Parse(r[5], null, System.Globalization.DateTimeStyles.AdjustToUniversal)).ToArray(), null, null, default);
                await group.WriteAsync<double>(f[6], chunk.Select(_ => 1.5).ToArray(), null, null, default);
                group.CompleteValidate();
            }
        }

        var fromCsv = SnapshotFiles.Open(csvPath, [TestData.Purpose]);
        var fromParquet = SnapshotFiles.Open(parquetPath, [TestData.Purpose]);
        Assert.Equal((fromCsv.Info.Users, fromCsv.Info.Rows, fromCsv.Info.Conflicts, fromCsv.Info.AsOf), (fromParquet.Info.Users, fromParquet.Info.Rows, fromParquet.Info.Conflicts, fromParquet.Info.AsOf));

        var table = TestData.Jurisdictions(TestData.Table);
        var csvPolicy = new ConsentPolicy(fromCsv, table, TestData.Purpose);
        var parquetPolicy = new ConsentPolicy(fromParquet, table, TestData.Purpose);
        foreach (var user in rows.Select(r => r[0]).Append("ghost"))
        {
            foreach (var region in TabularCorpus.Regions)
            {
                var id = Encoding.UTF8.GetBytes(user);
                var csvRegion = region is null ? (RegionMatch?)null : csvPolicy.ResolveRegion(region.Trim().ToUpperInvariant());
                Assert.Equal(csvPolicy.Decide(id, csvRegion), parquetPolicy.Decide(id, csvRegion));
            }
        }
    }

    [Fact]
    public async Task ParquetConsent_InvalidPurposeValue_DataFileErrorNamingRow()
    {
        using var dir = new TempDirectory();
        var schema = new ParquetSchema(new DataField<string>("user_id"), new DataField<string>("ai_training"));
        var path = dir.File("consent.parquet");
        await using (var file = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(schema, file, null, false, default))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(schema.GetDataFields()[0], new[] { "a", "b" });
            await group.WriteAsync(schema.GetDataFields()[1], new[] { "granted", "maybe" });
        }

        var error = Assert.Throws<DataFileException>(() => SnapshotFiles.Open(path, [TestData.Purpose]));
        Assert.Equal(2, error.Line);
        Assert.Contains("maybe", error.Message, StringComparison.Ordinal);
    }

    private sealed class DataTimeField(string name) : DateTimeDataField(name, DateTimeFormat.DateAndTime, isAdjustedToUTC: true, unit: null, isNullable: true);
}
