using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace SubnetworkEnsembles.Experiments.Plugins;

/// <summary>
/// The doc comments of plugin option properties, read from the XML documentation file built beside a plugin
/// assembly (<c>Name.xml</c> next to <c>Name.dll</c>), so <c>sne plugins</c> can explain every option. Missing files
/// simply give no text. Each instance caches the files it has read (one per assembly); nothing is shared between instances.
/// </summary>
public sealed partial class PluginDocumentation
{
    private readonly Dictionary<string, Dictionary<string, string>> _cache = [];

    /// <summary>The summary of property <paramref name="propertyName"/> of <paramref name="type"/>, one line, or "".</summary>
    public string Summary(Type type, string propertyName)
    {
        string? assembly = type.Assembly.Location;
        if (string.IsNullOrEmpty(assembly)) return "";
        if (!_cache.TryGetValue(assembly, out var members)) _cache[assembly] = members = Read(Path.ChangeExtension(assembly, ".xml"));
        return members.TryGetValue($"P:{type.FullName}.{propertyName}", out var text) ? text : "";
    }

    private static Dictionary<string, string> Read(string file)
    {
        if (!File.Exists(file)) return [];
        try
        {
            return XDocument.Load(file).Descendants("member")
                .Where(m => m.Attribute("name") is not null && m.Element("summary") is not null)
                .ToDictionary(m => m.Attribute("name")!.Value, m => Flatten(m.Element("summary")!));
        }
        catch (System.Xml.XmlException)
        {
            return [];
        }
    }

    /// <summary>Summary XML as one line of text: &lt;see cref="T:X.Y"/&gt; → Y, &lt;c&gt;x&lt;/c&gt; → x, whitespace collapsed.</summary>
    private static string Flatten(XElement summary)
    {
        foreach (var see in summary.Descendants().Where(e => e.Name == "see" || e.Name == "paramref" || e.Name == "typeparamref").ToList())
        {
            string reference = see.Attribute("cref")?.Value ?? see.Attribute("name")?.Value ?? see.Attribute("langword")?.Value ?? "";
            see.ReplaceWith(reference[(reference.LastIndexOf('.') + 1)..]);
        }
        return Whitespace().Replace(string.Concat(summary.DescendantNodes().OfType<XText>().Select(t => t.Value)), " ").Trim();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
