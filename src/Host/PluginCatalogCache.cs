using Microsoft.Extensions.Logging;

namespace SubnetworkEnsembles.Host;

/// <summary>
/// The plugin catalogs one command has discovered, keyed by their directories (and $SNE_PLUGIN_ALLOWLIST): a sweep
/// resolves every point twice (validation, then its run) and a benchmark suite runs many experiments, and none of them
/// may load the same assemblies into new contexts each time. One instance is shared by the verbs of one process
/// (<see cref="Verbs.VerbContext"/>) and travels with <see cref="RunRequest.Catalogs"/>; nothing is static.
/// </summary>
public sealed class PluginCatalogCache
{
    private readonly Dictionary<string, PluginCatalog> _catalogs = [];

    /// <summary>The plugins in <paramref name="directories"/>, discovered on the first call for these directories.</summary>
    public PluginCatalog Get(IReadOnlyList<string> directories, ILogger log)
    {
        string key = string.Join('\n', directories.Select(Path.GetFullPath).Distinct()) + "\0" + Environment.GetEnvironmentVariable(PluginCatalog.AllowlistVariable);
        lock (_catalogs)
        {
            if (!_catalogs.TryGetValue(key, out var catalog)) _catalogs[key] = catalog = PluginCatalog.Discover(directories, log);
            return catalog;
        }
    }
}
