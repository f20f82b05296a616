using System.Collections;
using System.Globalization;
using YamlDotNet.Serialization;

namespace SubnetworkEnsembles.Experiments.Configuration;

/// <summary>
/// Writes the fully resolved experiment (every default filled in, every plugin's bound options) as YAML, so that
/// the run directory records exactly what ran and the file can be given back to <c>sne run</c>.
/// </summary>
public static class ResolvedConfigWriter
{
    /// <summary>The YAML text of <paramref name="config"/>.</summary>
    public static string ToYaml(ExperimentConfig config) =>
        new SerializerBuilder().DisableAliases().Build().Serialize(ToTree(config)!);

    private static object? ToTree(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b,
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        Enum e => ConfigNames.EnumValue(e),
        _ when value.GetType().IsPrimitive => value,
        PluginSpec spec => PluginTree(spec),
        IEnumerable list => list.Cast<object?>().Select(ToTree).ToList(),
        _ => ObjectTree(value),
    };

    private static Dictionary<string, object?> PluginTree(PluginSpec spec)
    {
        var tree = new Dictionary<string, object?> { ["type"] = spec.Type };
        if (spec.BoundOptions is not null) foreach (var (k, v) in ObjectTree(spec.BoundOptions)) tree[k] = v;
        return tree;
    }

    private static Dictionary<string, object?> ObjectTree(object value)
    {
        var tree = new Dictionary<string, object?>();
        foreach (var p in value.GetType().GetProperties().Where(p => p.CanWrite && p.GetIndexParameters().Length == 0))
        {
            if (p.IsDefined(typeof(InlineOptionsAttribute), false) && p.GetValue(value) is PluginSpec inline)
            {
                // data: { dataset: NAME, <the plugin's options>, <the block's own keys> }
                tree[ConfigNames.Key(p.Name)] = inline.Type;
                if (inline.BoundOptions is not null) foreach (var (k, v) in ObjectTree(inline.BoundOptions)) tree[k] = v;
                continue;
            }
            tree[ConfigNames.Key(p.Name)] = ToTree(p.GetValue(value));
        }
        return tree;
    }
}
