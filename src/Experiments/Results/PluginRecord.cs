using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// results.json "plugins": one entry per plugin the run used (built-in or not), so a result can be traced to the exact
/// code that made it. Absent in results.json files written before this section existed.
/// </summary>
public sealed record PluginRecord
{
    /// <summary>The plugin's YAML name, e.g. "partition".</summary>
    public string Name { get; init; } = "";

    /// <summary>Its kind in lower case: dataset, model, optimizer, schedule, sampler, perturbation, combiner or metric.</summary>
    public string Kind { get; init; } = "";

    /// <summary>The implementing class, e.g. "SubnetworkEnsembles.Samplers.PartitionSampler".</summary>
    public string? Class { get; init; }

    /// <summary>The assembly's simple name, e.g. "SubnetworkEnsembles.Samplers".</summary>
    public string Assembly { get; init; } = "";

    /// <summary>The assembly version (AssemblyVersion, e.g. "1.0.0.0"), null when the assembly has none.</summary>
    public string? Version { get; init; }

    /// <summary>The full path of the assembly file the plugin was loaded from, null for a plugin without one (made in memory).</summary>
    public string? File { get; init; }

    /// <summary>SHA-256 of that file, 64 lowercase hex digits (the format of $SNE_PLUGIN_ALLOWLIST), null without a file.</summary>
    public string? Sha256 { get; init; }

    /// <summary>
    /// The plugins <paramref name="config"/> uses (every plugin spec, each (kind, name) once), ordered by kind then name,
    /// as <paramref name="plugins"/> resolved them; specs it does not know are left out.
    /// </summary>
    public static IReadOnlyList<PluginRecord> Of(ExperimentConfig config, PluginFactory plugins)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        string Hash(string file) => hashes.TryGetValue(file, out var h) ? h : hashes[file] = PluginCatalog.Sha256(file);
        return PluginResolution.SpecsOf(config)
            .Select(s => plugins.Find(s.Spec))
            .OfType<PluginDescriptor>()
            .DistinctBy(d => (d.Kind, d.Name))
            .OrderBy(d => d.Kind).ThenBy(d => d.Name, StringComparer.Ordinal)
            .Select(d =>
            {
                var assembly = d.ImplementationType.Assembly;
                string? file = System.IO.File.Exists(d.AssemblyPath) ? Path.GetFullPath(d.AssemblyPath) : null;
                return new PluginRecord
                {
                    Name = d.Name, Kind = d.Kind.ToString().ToLowerInvariant(), Class = d.ImplementationType.FullName,
                    Assembly = assembly.GetName().Name ?? "", Version = assembly.GetName().Version?.ToString(),
                    File = file, Sha256 = file is null ? null : Hash(file),
                };
            })
            .ToList();
    }
}
