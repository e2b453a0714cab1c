namespace ConsentFilter.Tests.EndToEnd;

/// <summary>
/// Tests that run <c>dotnet pack</c> or <c>dotnet publish</c> on the CLI project: one at a time, so a pack without a build
/// never reads outputs a concurrent publish is rewriting (both touch the Release outputs when the suite runs in Release).
/// </summary>
[CollectionDefinition(Name)]
public sealed class BuildsCollection
{
    public const string Name = "dotnet pack and publish";
}
