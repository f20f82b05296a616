using SubnetworkEnsembles.Abstractions;
using YamlDotNet.RepresentationModel;

namespace SubnetworkEnsembles.Host.Configuration;

/// <summary>
/// A plugin chosen in YAML: <c>{ type: NAME, key: value, … }</c> (or just <c>NAME</c>). The keys beside
/// <c>type</c> are bound to the plugin's options class once the plugin is known (<see cref="ExperimentLoader"/>).
/// </summary>
public sealed class PluginSpec
{
    /// <summary>The plugin's registered name.</summary>
    public string Type { get; init; } = "";

    /// <summary>The option keys beside <c>type</c>, unbound; empty when none were given.</summary>
    public YamlMappingNode Options { get; init; } = new();

    /// <summary>Where the spec is in the configuration (for errors).</summary>
    public ConfigLocation Location { get; init; } = new("", 0, 0, "");

    /// <summary>The bound, validated options object (null for plugins without options); set by the host.</summary>
    public object? BoundOptions { get; set; }

    /// <summary>The kind of plugin this spec selects; set by the host.</summary>
    public PluginKind Kind { get; set; }

    /// <summary>A spec with default options, as used for defaults in the config classes.</summary>
    public static PluginSpec Named(string type) => new() { Type = type };
}
