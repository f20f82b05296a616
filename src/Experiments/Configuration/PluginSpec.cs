using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Experiments.Configuration;

/// <summary>
/// A plugin chosen by name, with its options: in YAML <c>{ type: NAME, key: value, … }</c> (or just <c>NAME</c>); in C#
/// <c>PluginSpec.Named("partition", new PartitionOptions { K = 2 })</c>. Options left null are the plugin's defaults.
/// The plugin's kind is set when the experiment is resolved against a catalog.
/// </summary>
public sealed class PluginSpec
{
    /// <summary>The plugin's registered name.</summary>
    public string Type { get; init; } = "";

    /// <summary>Where the spec is in the configuration (for errors); empty for specs made in code.</summary>
    public ConfigLocation Location { get; init; } = new("", 0, 0, "");

    /// <summary>The plugin's options object (null: the defaults of its options class, or a plugin without options).</summary>
    public object? BoundOptions { get; set; }

    /// <summary>The kind of plugin this spec selects; set when the experiment is resolved.</summary>
    public PluginKind Kind { get; set; }

    /// <summary>A spec of the plugin <paramref name="type"/>, with default options or the given options object.</summary>
    public static PluginSpec Named(string type, object? options = null) => new() { Type = type, BoundOptions = options };
}
