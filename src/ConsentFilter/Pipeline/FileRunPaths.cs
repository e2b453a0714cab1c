using ConsentFilter.Decisions;
using ConsentFilter.IO;

namespace ConsentFilter.Pipeline;

/// <summary>The check every file run makes before it opens anything: no output is an input or another output.</summary>
internal static class FileRunPaths
{
    /// <summary>Every file a run reads: the records, and the consent and jurisdiction files the policy was loaded from.</summary>
    internal static IEnumerable<(string Role, string Path)> Inputs(ConsentPolicy policy, IEnumerable<string> records)
    {
        foreach (var path in records)
        {
            yield return ("records", path);
        }

        if (policy.Snapshot.Info.Source is { Length: > 0 } consent && File.Exists(consent))
        {
            yield return ("consent", consent);
        }

        if (policy.Jurisdictions.Source is { Length: > 0 } table && File.Exists(table))
        {
            yield return ("jurisdictions", table);
        }
    }

    /// <summary>Every file a run writes: the outputs and, when written, the manifest beside the kept records.</summary>
    internal static IEnumerable<(string Role, string Path)> Outputs(FilterFileOutputs outputs, bool manifest)
    {
        yield return ("output", outputs.Output);
        if (manifest && outputs.Output != RecordFiles.StandardStream)
        {
            yield return ("manifest", RunManifest.PathFor(outputs.Output));
        }

        if (outputs.Rejections is { } rejections)
        {
            yield return ("rejections", rejections);
        }

        if (outputs.Quarantine is { } quarantine)
        {
            yield return ("quarantine", quarantine);
        }

        if (outputs.Report is { } report)
        {
            yield return ("report", report);
        }
    }

    /// <summary>Throws <see cref="PathConflictException"/> when an output of the run is one of its inputs or another output.</summary>
    internal static void Check(ConsentPolicy policy, IEnumerable<string> records, FilterFileOutputs outputs, bool manifest) =>
        PathIdentity.ThrowIfConflicting(Inputs(policy, records), Outputs(outputs, manifest));
}
