using System.Text.RegularExpressions;

namespace ConsentFilter.Tests.Architecture;

/// <summary>
/// The library's layers, written down once (docs/architecture.md) and checked here by reading every source file's
/// namespace, <c>using</c> lines and namespace-qualified references: a new arrow between namespaces is a visible choice.
/// </summary>
public sealed partial class LayeringTests
{
    /// <summary>Each namespace of the core library and the namespaces it may use (besides itself). Listed bottom-up.</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> Allowed = new Dictionary<string, string[]>
    {
        ["Internal"] = [],
        ["IO"] = ["Internal"],
        ["Jurisdictions"] = ["Internal", "IO"],
        ["Consent"] = ["Internal", "IO", "Jurisdictions"],
        ["Decisions"] = ["Internal", "Jurisdictions", "Consent"],
        ["Records"] = ["Internal", "Jurisdictions", "Decisions"],
        ["Telemetry"] = ["Internal"],
        ["Pipeline"] = ["Internal", "IO", "Jurisdictions", "Consent", "Decisions", "Records", "Telemetry"],
        ["Provenance"] = ["Internal", "IO", "Jurisdictions", "Consent", "Decisions", "Records", "Pipeline"],
        ["Sharding"] = ["Internal", "IO", "Pipeline", "Provenance"],
        ["Streaming"] = ["Internal", "IO", "Jurisdictions", "Consent", "Decisions", "Records", "Telemetry", "Pipeline"],
        ["Parquet"] = ["Internal", "IO", "Jurisdictions", "Consent", "Decisions", "Records", "Telemetry", "Pipeline"],
        ["DependencyInjection"] = ["Internal", "Pipeline", "Consent", "Decisions", "Jurisdictions"],
    };

    [Fact]
    public void AllowedLayers_FormNoCycle()
    {
        var visiting = new HashSet<string>();
        var done = new HashSet<string>();
        void Visit(string layer, List<string> path)
        {
            Assert.False(visiting.Contains(layer), "cycle: " + string.Join(" → ", path.Append(layer)));
            if (!done.Add(layer))
            {
                return;
            }

            visiting.Add(layer);
            foreach (var next in Allowed[layer])
            {
                Visit(next, [.. path, layer]);
            }

            visiting.Remove(layer);
        }

        foreach (var layer in Allowed.Keys)
        {
            Visit(layer, []);
        }
    }

    [Fact]
    public void EveryReferenceBetweenNamespaces_IsAnAllowedArrow()
    {
        var violations = Edges()
            .Where(e => !Allowed.TryGetValue(e.From, out var allowed) || !allowed.Contains(e.To))
            .Select(e => $"{e.From} → {e.To} ({e.File})")
            .Distinct()
            .ToList();
        Assert.True(violations.Count == 0, "arrows not in the layering (docs/architecture.md):\n" + string.Join('\n', violations));
    }

    [Fact]
    public void Edges_FindsReferences_SoTheCheckCanFail()
    {
        // The reader must see both kinds of reference, or the check above would pass vacuously.
        Assert.Contains(Edges(), e => e.From == "Pipeline" && e.To == "Decisions");
        Assert.Contains(Edges(), e => e.From == "Decisions" && e.To == "Consent");
    }

    [Fact]
    public void CoreLibrary_ReferencesNoAdapterPackageOrCli_NorTheirDependencies()
    {
        var references = typeof(ConsentFilter.Pipeline.RecordFilter).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(references, r => r.StartsWith("ConsentFilter.", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.StartsWith("ParquetSharp", StringComparison.Ordinal) || r.StartsWith("Apache.Arrow", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.StartsWith("NATS", StringComparison.Ordinal));
    }

    internal static List<(string From, string To, string File)> Edges()
    {
        var src = Path.Combine(Docs.ReadmeTests.RepositoryRoot(), "src");
        var layers = string.Join('|', Allowed.Keys);
        var qualified = new Regex($@"(?<![\w.])(?:ConsentFilter\.)?({layers})\.[A-Z]\w*", RegexOptions.CultureInvariant);
        var edges = new List<(string, string, string)>();
        // The core and its adapter packages (which use the core's namespaces and add their own).
        var roots = Directory.EnumerateDirectories(src, "ConsentFilter*").Where(d => !d.EndsWith(".Cli", StringComparison.Ordinal));
        foreach (var file in roots.SelectMany(root => Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            var text = File.ReadAllText(file);
            var ns = NamespaceLine().Match(text);
            if (!ns.Success)
            {
                continue;
            }

            var from = ns.Groups[1].Value;
            // Using lines are read by UsingLine alone: `using Parquet.Data;` names the Parquet.Net library, not the layer.
            var code = AnyUsingLine().Replace(LineComment().Replace(text, string.Empty), string.Empty);
            var targets = UsingLine().Matches(text).Select(m => m.Groups[1].Value)
                .Concat(qualified.Matches(code).Select(m => m.Groups[1].Value));
            foreach (var to in targets.Where(t => t != from))
            {
                edges.Add((from, to, Path.GetFileName(file)));
            }
        }

        return edges;
    }

    [GeneratedRegex(@"^namespace ConsentFilter\.(\w+);", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();

    [GeneratedRegex(@"^using ConsentFilter\.(\w+);", RegexOptions.Multiline)]
    private static partial Regex UsingLine();

    [GeneratedRegex(@"^using [\w.]+;", RegexOptions.Multiline)]
    private static partial Regex AnyUsingLine();

    [GeneratedRegex(@"//.*")]
    private static partial Regex LineComment();
}
