using System.Runtime.CompilerServices;

namespace ConsentFilter.Consent;

/// <summary>Whether this process can read consent snapshots from Parquet (with Parquet.Net).</summary>
/// <remarks>
/// Parquet.Net reads columns of a type known only at run time through reflection and <c>dynamic</c>, which a native
/// (ahead-of-time compiled) executable cannot run: it would fail on the first column with an internal error. Such a
/// build refuses a Parquet consent file up front with a message that says what to use instead. (Parquet records are
/// read by the ConsentFilter.Parquet package, on ParquetSharp, which a native build runs.)
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
                "consent in Parquet needs the framework-dependent consentfilter (the dotnet tool or the library); this native build reads consent as CSV or as a snapshot built with `consentfilter snapshot build`");
        }
    }
}
