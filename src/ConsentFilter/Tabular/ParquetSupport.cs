using System.Runtime.CompilerServices;

namespace ConsentFilter.Tabular;

/// <summary>Whether this process can read Parquet files.</summary>
/// <remarks>
/// Parquet.Net reads columns of a type known only at run time through reflection and <c>dynamic</c>, which a native
/// (ahead-of-time compiled) executable cannot run: it would fail on the first column with an internal error. Such a
/// build refuses Parquet inputs up front with a message that says what to use instead.
/// </remarks>
internal static class ParquetSupport
{
    internal static bool IsAvailable => RuntimeFeature.IsDynamicCodeSupported;

    /// <summary>Throws a <see cref="DataFileException"/> naming <paramref name="path"/> when Parquet cannot be read here.</summary>
    internal static void EnsureAvailable(string path)
    {
        if (!IsAvailable)
        {
            throw new DataFileException(path, 0, 0,
                "Parquet files need the framework-dependent consentfilter (the dotnet tool or the library); this native build reads JSON Lines and CSV");
        }
    }
}
