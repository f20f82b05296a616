using System.Reflection;
using YamlDotNet.RepresentationModel;

namespace SubnetworkEnsembles.Host.Configuration;

/// <summary>
/// A plugin block of a configuration is a mapping that names its plugin with <c>type:</c> (every other key is that
/// plugin's option), or the <c>data:</c> block that names it with <c>dataset:</c> (the keys that are not the host's own
/// are the dataset's options). When a file that <c>extends:</c> another names a different plugin, its block replaces the
/// base's (no old option is merged into the new plugin, where it would be an unknown key); when <c>--set</c>, an
/// environment override or a sweep switches the plugin, the old options the new plugin also has are kept and the rest dropped.
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
    /// changes the block's plugin (<c>type</c>, or <c>dataset</c> of <c>data:</c>), adds the old plugin's option keys to
    /// <paramref name="inherited"/> (except those <paramref name="keep"/> accepts: keys an earlier override set for the new
    /// plugin). Resolution then keeps the ones the new plugin has (e.g. <c>sparsity</c> from bernoulli to magnitude, so a
    /// one-key switch compares plugins at the same setting) and drops the others (partition's <c>k</c>).
    /// </summary>
    public static void MarkInherited(YamlMappingNode block, string key, YamlNode value, Func<YamlNode, bool> keep, ISet<YamlNode> inherited)
    {
        bool isType = key == TypeKey.Value, isDataset = key == DatasetKey.Value;
        if (!isType && !isDataset) return;
        if (!block.Children.TryGetValue(new YamlScalarNode(key), out var current) || Same(current, value)) return;
        foreach (var k in block.Children.Keys)
            if (k is YamlScalarNode { Value: { } name } && name != key && !keep(k) && (isType || !HostDataKeys.Contains(name))) inherited.Add(k);
    }

    private static bool Differs(YamlMappingNode a, YamlMappingNode b, YamlScalarNode key) =>
        a.Children.TryGetValue(key, out var x) && b.Children.TryGetValue(key, out var y) && !Same(x, y);

    private static bool Same(YamlNode a, YamlNode b) =>
        a is YamlScalarNode { Value: var x } && b is YamlScalarNode { Value: var y } ? x == y : ReferenceEquals(a, b);
}
