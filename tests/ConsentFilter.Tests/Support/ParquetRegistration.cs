using System.Runtime.CompilerServices;

namespace ConsentFilter.Tests.Support;

/// <summary>Every test runs with the Parquet and Arrow adapters registered, as the CLI does at start.</summary>
internal static class ParquetRegistration
{
    [ModuleInitializer]
    internal static void Register() => ConsentFilter.Parquet.ParquetRecords.Register();
}
