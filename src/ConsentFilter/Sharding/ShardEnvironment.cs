using System.Globalization;

namespace ConsentFilter.Sharding;

/// <summary>Finds this task's shard from the environment of the cluster scheduler that started it.</summary>
/// <remarks>
/// Kubernetes Indexed Jobs set <c>JOB_COMPLETION_INDEX</c>; Slurm job arrays set <c>SLURM_ARRAY_TASK_ID</c>,
/// <c>SLURM_ARRAY_TASK_COUNT</c> and <c>SLURM_ARRAY_TASK_MIN</c>; AWS Batch array jobs set <c>AWS_BATCH_JOB_ARRAY_INDEX</c>.
/// Kubernetes and AWS Batch do not expose the task count, so it comes from the caller (a flag) or
/// <c>CONSENTFILTER_SHARD_COUNT</c>.
/// </remarks>
public static class ShardEnvironment
{
    /// <summary>The variable that gives the task count where the scheduler does not.</summary>
    public const string CountVariable = "CONSENTFILTER_SHARD_COUNT";

    /// <summary>Detects the shard, or returns null when no scheduler variable is set.</summary>
    /// <param name="getVariable">Reads an environment variable (tests pass a dictionary).</param>
    /// <param name="count">The task count given by flag, if any.</param>
    /// <exception cref="InvalidOperationException">A scheduler variable is set but the shard cannot be determined.</exception>
    public static Shard? Detect(Func<string, string?> getVariable, int? count = null)
    {
        ArgumentNullException.ThrowIfNull(getVariable);
        int? Int(string name) => getVariable(name) is { Length: > 0 } v
            ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw new InvalidOperationException($"{name}='{v}' is not an integer")
            : null;

        count ??= Int(CountVariable);
        if (Int("SLURM_ARRAY_TASK_ID") is { } slurmId)
        {
            var slurmCount = count ?? Int("SLURM_ARRAY_TASK_COUNT") ?? throw new InvalidOperationException("SLURM_ARRAY_TASK_COUNT is not set");
            return Make(slurmId - (Int("SLURM_ARRAY_TASK_MIN") ?? 0), slurmCount, "SLURM_ARRAY_TASK_ID");
        }

        foreach (var name in new[] { "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX" })
        {
            if (Int(name) is { } index)
            {
                return Make(index, count ?? throw new InvalidOperationException($"{name} is set but the task count is not (pass --shard-count or set {CountVariable})"), name);
            }
        }

        return null;
    }

    private static Shard Make(int index, int count, string source) =>
        count >= 1 && index >= 0 && index < count
            ? new Shard(index, count)
            : throw new InvalidOperationException($"{source} gives task {index} of {count}, which is out of range");
}
