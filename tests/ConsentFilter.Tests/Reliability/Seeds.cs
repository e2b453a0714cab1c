using System.Globalization;

namespace ConsentFilter.Tests.Reliability;

/// <summary>Seeds for the randomized reliability tests: fresh each run, or fixed to replay a failure (docs/reliability.md).</summary>
internal static class Seeds
{
    /// <summary>The environment variable that fixes the seed, as printed in every failure message.</summary>
    internal const string Variable = "CONSENTFILTER_SEED";

    /// <summary>The seed from <see cref="Variable"/>, or a new random one.</summary>
    internal static int Next() =>
        int.TryParse(Environment.GetEnvironmentVariable(Variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            ? seed
            : Random.Shared.Next();

    /// <summary>What to append to a failure message so the failure replays.</summary>
    internal static string Replay(int seed) => $"replay with {Variable}={seed}";
}
