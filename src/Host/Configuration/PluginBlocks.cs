using System.Reflection;
using YamlDotNet.RepresentationModel;

namespace SubnetworkEnsembles.Host.Configuration;

/// <summary>
/// A plugin block of a configuration is a mapping that names its plugin with <c>type:</c> (every other key is that
/// plugin's option), or the <c>data:</c> block that names it with <c>dataset:</c> (the keys that are not the host's own
/// are the dataset's options). When <c>extends:</c>, <c>--set</c>, an environment override or a sweep changes the plugin,
/// the old plugin's options are dropped instead of being merged into the new one's (they would be unknown keys there).
/// </summary>
public static class PluginBlocks
{
    private static readonly YamlScalarNode TypeKey = new("type");
    private static readonly YamlScalarNode DatasetKey = new("dataset");

    /// <summary>The keys of <c>data:</c> that are the host's own (kept when the dataset changes): validation, train_subset, …</summary>
    private static readonly HashSet<string> HostDataKeys = typeof(DataConfig).GetProperties()
        .Where(p => p.GetCustomAttribute<InlineOptionsAttribute>() is null).Select(p => ConfigNames.Key(p.Name)).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// <paramref name="overlay"/> merged over <paramref name="baseNode"/> when both name a different plugin (their
    /// <c>type:</c> or <c>dataset:</c> differ): the overlay alone, plus the base's host keys of a <c>data:</c> block;
    /// null when they name the same plugin (or are not plugin blocks), for the caller's ordinary deep merge.
    /// </summary>
    public static YamlMappingNode? ReplacedBlock(YamlMappingNode baseNode, YamlMappingNode overlay)
    {
        if (Differs(baseNode, overlay, TypeKey)) return overlay;
        if (!Differs(baseNode, overlay, DatasetKey)) return null;
        var result = new YamlMappingNode();
        foreach (var (k, v) in baseNode.Children)
            if (k is YamlScalarNode { Value: { } name } && HostDataKeys.Contains(name) && !overlay.Children.ContainsKey(k)) result.Children[k] = v;
        foreach (var (k, v) in overlay.Children) result.Children[k] = v;
        return result;
    }

    /// <summary>
    /// Before <paramref name="key"/> of <paramref name="block"/> is set to <paramref name="value"/> (an override): when that
    /// changes the block's plugin (<c>type</c>, or <c>dataset</c> of <c>data:</c>), removes the old plugin's options,
    /// except those <paramref name="keep"/> accepts (keys an earlier override set, meant for the new plugin).
    /// </summary>
    public static void DropOptionsOnChange(YamlMappingNode block, string key, YamlNode value, Func<YamlNode, bool> keep)
    {
        bool isType = key == TypeKey.Value, isDataset = key == DatasetKey.Value;
        if (!isType && !isDataset) return;
        if (!block.Children.TryGetValue(new YamlScalarNode(key), out var current) || Same(current, value)) return;
        var drop = block.Children.Keys
            .Where(k => k is YamlScalarNode { Value: { } name } && name != key && !keep(k) && (isType || !HostDataKeys.Contains(name)))
            .ToList();
        foreach (var k in drop) block.Children.Remove(k);
    }

    private static bool Differs(YamlMappingNode a, YamlMappingNode b, YamlScalarNode key) =>
        a.Children.TryGetValue(key, out var x) && b.Children.TryGetValue(key, out var y) && !Same(x, y);

    private static bool Same(YamlNode a, YamlNode b) =>
        a is YamlScalarNode { Value: var x } && b is YamlScalarNode { Value: var y } ? x == y : ReferenceEquals(a, b);
}
