using System.Reflection;

namespace ConsentFilter.Internal;

/// <summary>The library's identity as reports, manifests and telemetry name it.</summary>
internal static class ToolInfo
{
    /// <summary>The library's informational version (without the source revision).</summary>
    internal static string Version { get; } =
        typeof(ToolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
