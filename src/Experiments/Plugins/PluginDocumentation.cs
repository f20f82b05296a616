using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace SubnetworkEnsembles.Experiments.Plugins;

/// <summary>
/// The doc comments of plugin classes and their option properties, read from the XML documentation file built beside a
/// plugin assembly (<c>Name.xml</c> next to <c>Name.dll</c>), so <c>sne plugins</c> can explain every plugin and option. Missing files
/// simply give no text. Each instance caches the files it has read (one per assembly); nothing is shared between instances.
/// </summary>
public sealed partial class PluginDocumentation
{
    private readonly Dictionary<string, Dictionary<string, string>> _cache = [];

    /// <summary>The summary of property <paramref name="propertyName"/> of <paramref name="type"/>, one line, or "".</summary>
    public string Summary(Type type, string propertyName) => Member(type, $"P:{DocName(type)}.{propertyName}");

    /// <summary>The summary of the class <paramref name="type"/> itself (e.g. a plugin class's description of its method), one line, or "".</summary>
    public string Summary(Type type) => Member(type, $"T:{DocName(type)}");

    /// <summary><paramref name="text"/> broken into lines of at most <paramref name="width"/> characters at spaces (a longer word stays whole).</summary>
    public static IReadOnlyList<string> Wrap(string text, int width)
    {
        var lines = new List<string>();
        var line = new System.Text.StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line.ToString());
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0) lines.Add(line.ToString());
        return lines;
    }

    private string Member(Type type, string id)
    {
        string? assembly = type.Assembly.Location;
        if (string.IsNullOrEmpty(assembly)) return "";
        if (!_cache.TryGetValue(assembly, out var members)) _cache[assembly] = members = Read(Path.ChangeExtension(assembly, ".xml"));
        return members.TryGetValue(id, out var text) ? text : "";
    }

    /// <summary>The type's name as documentation IDs spell it: nested types joined by '.', not '+'.</summary>
    private static string DocName(Type type) => (type.FullName ?? type.Name).Replace('+', '.');

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

    /// <summary>
    /// Summary XML as one line of text: &lt;see cref="T:X.Y"/&gt; → Y (M:X.Y.Z(A) → Z; a see with text → its text),
    /// &lt;c&gt;x&lt;/c&gt; → x, whitespace collapsed.
    /// </summary>
    private static string Flatten(XElement summary)
    {
        foreach (var see in summary.Descendants().Where(e => e.Name == "see" || e.Name == "paramref" || e.Name == "typeparamref").ToList())
        {
            string reference = see.Attribute("cref")?.Value ?? see.Attribute("name")?.Value ?? see.Attribute("langword")?.Value ?? "";
            if (reference.IndexOf('(') is > 0 and var parameters) reference = reference[..parameters];   // M:N.T.Method(System.Int32) → Method
            see.ReplaceWith(see.Value.Length > 0 ? see.Value : reference[(reference.LastIndexOf('.') + 1)..]);
        }
        return Whitespace().Replace(string.Concat(summary.DescendantNodes().OfType<XText>().Select(t => t.Value)), " ").Trim();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
