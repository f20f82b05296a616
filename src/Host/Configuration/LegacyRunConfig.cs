using YamlDotNet.RepresentationModel;

namespace SubnetworkEnsembles.Host.Configuration;

/// <summary>
/// Run directories made before models and datasets became plugins recorded every key of the old closed <c>data:</c> and
/// <c>model:</c> blocks in their config.yaml, including the defaults of the dataset or model they did not use
/// (<c>directory</c> for spirals; <c>points</c>, <c>test_points</c>, <c>noise</c> for fashion-mnist; <c>size</c> for mlp;
/// <c>hidden</c> for lenet). Such a key is dropped when it holds exactly the old default, so <c>sne status</c>, <c>report</c>,
/// <c>grow</c> and <c>predict</c> still read those runs; any other value stays and is reported as an unknown option.
/// </summary>
public static class LegacyRunConfig
{
    private static readonly Dictionary<(string Block, string Plugin), (string Key, string Default)[]> UnusedDefaults = new()
    {
        [("data", "spirals")] = [("directory", "/usr/share/datasets/fashion-mnist")],
        [("data", "fashion-mnist")] = [("points", "2500"), ("test_points", "250"), ("noise", "1")],
        [("model", "mlp")] = [("size", "small")],
        [("model", "lenet")] = [("hidden", "[512, 512]")],
    };

    /// <summary>Removes the unused old defaults from <paramref name="root"/> in place.</summary>
    public static void DropUnusedDefaults(YamlMappingNode root)
    {
        foreach (var ((block, plugin), keys) in UnusedDefaults)
        {
            if (!root.Children.TryGetValue(new YamlScalarNode(block), out var node) || node is not YamlMappingNode mapping) continue;
            string selector = block == "data" ? "dataset" : "type";
            if (!mapping.Children.TryGetValue(new YamlScalarNode(selector), out var name) || name is not YamlScalarNode { Value: { } value } || value != plugin) continue;
            foreach (var (key, old) in keys)
            {
                var keyNode = new YamlScalarNode(key);
                if (mapping.Children.TryGetValue(keyNode, out var given) && Text(given) == old) mapping.Children.Remove(keyNode);
            }
        }
    }

    private static string Text(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? "",
        YamlSequenceNode list => "[" + string.Join(", ", list.Children.Select(Text)) + "]",
        _ => "",
    };
}
