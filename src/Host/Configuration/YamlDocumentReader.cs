using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SubnetworkEnsembles.Host.Configuration;

/// <summary>A configuration document: its root mapping, the file it came from and which nodes came from --set.</summary>
public sealed record ConfigDocument(string Path, YamlMappingNode Root, IReadOnlyDictionary<YamlNode, string> OverrideSources);

/// <summary>
/// Reads a YAML configuration file and applies <c>--set key.path=value</c> overrides to its node tree. Every
/// failure (missing, unreadable, empty or binary file, syntax error, duplicate key, a non-mapping root, a bad
/// override) is a <see cref="ConfigException"/> that names the file, line and column.
/// </summary>
public static class YamlDocumentReader
{
    /// <summary>Largest configuration file accepted.</summary>
    public const long MaxBytes = 1 << 20;

    /// <summary>Loads <paramref name="path"/> and applies <paramref name="overrides"/> in order.</summary>
    public static ConfigDocument Load(string path, IEnumerable<string> overrides)
    {
        var root = Parse(ReadText(path), path);
        var sources = new Dictionary<YamlNode, string>(ReferenceEqualityComparer.Instance);
        foreach (var assignment in overrides) ApplyOverride(root, assignment, sources);
        return new ConfigDocument(path, root, sources);
    }

    private static string ReadText(string path)
    {
        var whole = new ConfigLocation(path, 0, 0, "");
        if (Directory.Exists(path)) throw new ConfigException(whole, "is a directory; expected a YAML configuration file");
        if (!File.Exists(path)) throw new ConfigException(whole, "file not found");
        string text;
        try
        {
            if (new FileInfo(path).Length > MaxBytes) throw new ConfigException(whole, $"is larger than {MaxBytes} bytes; not a configuration file?");
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(whole, $"cannot be read: {e.Message}");
        }
        if (text.Contains('\0')) throw new ConfigException(whole, "is a binary file; expected YAML text");
        if (string.IsNullOrWhiteSpace(text)) throw new ConfigException(whole, "is empty; expected a YAML mapping such as the ones in examples/");
        return text;
    }

    /// <summary>Parses one YAML document whose root is a mapping; <paramref name="source"/> names it in errors.</summary>
    public static YamlMappingNode Parse(string text, string source)
    {
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(text));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException e)
        {
            string message = (e.InnerException?.Message ?? e.Message);
            // YamlDotNet prefixes its own "(Line: …, Col: …)"; ours is in the location.
            int cut = message.IndexOf("): ", StringComparison.Ordinal);
            if (message.StartsWith("(Line", StringComparison.Ordinal) && cut > 0) message = message[(cut + 3)..];
            throw new ConfigException(new ConfigLocation(source, e.Start.Line, e.Start.Column, ""), "YAML syntax error: " + message);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // YamlDotNet reports some malformed input (and duplicate keys) without a position: use the scanner's.
            var at = scanner.CurrentPosition;
            string what = e is ArgumentException && e.Message.Contains("same key", StringComparison.Ordinal) ? "duplicate key" : "malformed YAML";
            throw new ConfigException(new ConfigLocation(source, at.Line, at.Column, ""), $"YAML syntax error: {what} near here");
        }
        if (stream.Documents.Count != 1)
            throw new ConfigException(new ConfigLocation(source, 0, 0, ""), $"expected exactly one YAML document, found {stream.Documents.Count}");
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents[0].RootNode;
            throw new ConfigException(new ConfigLocation(source, node.Start.Line, node.Start.Column, ""), "expected a mapping of keys at the top level (e.g. 'seed: 0')");
        }
        return root;
    }

    /// <summary>Applies "a.b.c=value": value is parsed as YAML (so lists and mappings work), intermediate mappings are created.</summary>
    private static void ApplyOverride(YamlMappingNode root, string assignment, Dictionary<YamlNode, string> sources)
    {
        int eq = assignment.IndexOf('=');
        string source = $"--set {assignment}";
        if (eq <= 0) throw new ConfigException(new ConfigLocation(source, 0, 0, ""), "expected key.path=value");
        string keyPath = assignment[..eq].Trim();
        string[] keys = keyPath.Split('.');
        if (keys.Any(k => k.Length == 0)) throw new ConfigException(new ConfigLocation(source, 0, 0, keyPath), "empty key in the key path");
        string valueText = assignment[(eq + 1)..];
        YamlNode value;
        if (valueText.Trim().Length == 0) value = new YamlScalarNode("");
        else
        {
            var stream = new YamlStream();
            try { stream.Load(new StringReader(valueText)); }
            catch (YamlException e)
            {
                throw new ConfigException(new ConfigLocation(source, 0, 0, keyPath), "the value is not valid YAML: " + (e.InnerException?.Message ?? e.Message));
            }
            value = stream.Documents.Count == 0 ? new YamlScalarNode("") : stream.Documents[0].RootNode;
        }
        foreach (var n in value.AllNodes) sources[n] = source;

        var current = root;
        for (int i = 0; i < keys.Length - 1; i++)
        {
            var key = new YamlScalarNode(keys[i]);
            if (!current.Children.TryGetValue(key, out var child))
            {
                child = new YamlMappingNode();
                current.Children.Add(key, child);
                sources[child] = source;
            }
            if (child is not YamlMappingNode next)
                throw new ConfigException(new ConfigLocation(source, 0, 0, string.Join('.', keys[..(i + 1)])), "is not a mapping, so it has no sub-keys to set");
            current = next;
        }
        var last = new YamlScalarNode(keys[^1]);
        sources[last] = source;
        current.Children[last] = value;
    }
}
