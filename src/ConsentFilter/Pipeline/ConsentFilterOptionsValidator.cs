using Microsoft.Extensions.Options;

namespace ConsentFilter.Pipeline;

/// <summary>Checks <see cref="ConsentFilterOptions"/> explicitly (no reflection) and reports every problem at once.</summary>
public sealed class ConsentFilterOptionsValidator : IValidateOptions<ConsentFilterOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ConsentFilterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();

        if (string.IsNullOrWhiteSpace(options.Purpose))
        {
            problems.Add("Purpose must not be empty.");
        }

        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        CheckPath(nameof(options.UserField), options.UserField);
        CheckPath(nameof(options.RegionField), options.RegionField);
        CheckPath(nameof(options.IdField), options.IdField);
        for (var i = 0; i < options.SubjectFields.Count; i++)
        {
            CheckPath($"{nameof(options.SubjectFields)}[{i}]", options.SubjectFields[i]);
        }

        if (options.MaxLineLength is < 1 or > ConsentFilterDefaults.MaxLineLengthLimit)
        {
            problems.Add($"MaxLineLength must be between 1 and {ConsentFilterDefaults.MaxLineLengthLimit} bytes (was {options.MaxLineLength}).");
        }

        if (options.BatchBytes is < 4096 or > 256 * 1024 * 1024)
        {
            problems.Add($"BatchBytes must be between 4096 and {256 * 1024 * 1024} (was {options.BatchBytes}).");
        }

        if (options.MaxSubjects < 0)
        {
            problems.Add($"MaxSubjects must not be negative (was {options.MaxSubjects}).");
        }

        if (options.ChannelCapacity < 1)
        {
            problems.Add($"ChannelCapacity must be at least 1 (was {options.ChannelCapacity}).");
        }

        if (options.MaxDegreeOfParallelism < 1)
        {
            problems.Add($"MaxDegreeOfParallelism must be at least 1 (was {options.MaxDegreeOfParallelism}).");
        }

        if (options.UserIdHashKey is { Length: 0 })
        {
            problems.Add("UserIdHashKey must be null or non-empty.");
        }

        if (options.MaxSnapshotAge is { } age && age <= TimeSpan.Zero)
        {
            problems.Add($"MaxSnapshotAge must be positive (was {age}).");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);

        void CheckPath(string option, string? path)
        {
            if (string.IsNullOrEmpty(path))
            {
                problems.Add($"{option} must not be empty.");
                return;
            }

            if (path.Split('.').Any(segment => segment.Length == 0))
            {
                problems.Add($"{option} '{path}' has an empty segment.");
                return;
            }

            if (!paths.TryAdd(path, option))
            {
                problems.Add($"{option} '{path}' is the same path as {paths[path]}.");
            }
        }
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every problem, if there is any.</summary>
    public static void ThrowIfInvalid(ConsentFilterOptions options)
    {
        var result = new ConsentFilterOptionsValidator().Validate(Options.DefaultName, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(ConsentFilterOptions), result.Failures);
        }
    }
}
