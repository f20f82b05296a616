using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SubnetworkEnsembles.Host.Configuration;

/// <summary>
/// A configuration document: its root mapping (bases of <c>extends:</c> merged in, overrides applied), the file it came
/// from, which nodes came from elsewhere (a base file, an environment variable, --set), and its <c>sweep:</c> grid.
/// </summary>
public sealed record ConfigDocument(string Path, YamlMappingNode Root, IReadOnlyDictionary<YamlNode, string> OverrideSources, IReadOnlyList<SweepAxis> Sweep)
{
    /// <summary>Nodes made by the program (e.g. a sweep point's key) and the place in a file they stand for.</summary>
    public IReadOnlyDictionary<YamlNode, ConfigLocation> Positions { get; } = new Dictionary<YamlNode, ConfigLocation>(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Option keys of a plugin whose block an override switched to another plugin (<see cref="PluginBlocks.MarkInherited"/>):
    /// kept where the new plugin has that option, dropped where it has not.
    /// </summary>
    public ISet<YamlNode> InheritedOptions { get; init; } = new HashSet<YamlNode>(ReferenceEqualityComparer.Instance);
}

/// <summary>One axis of a <c>sweep:</c> grid: a key path and the values it takes.</summary>
public sealed record SweepAxis(string KeyPath, IReadOnlyList<YamlNode> Values);

/// <summary>
/// Reads a YAML configuration file, merges the files it <c>extends:</c> (deeply: mappings merge key by key, anything
/// else is replaced, and so is a plugin block that names another plugin; chains allowed, cycles an error), then
/// applies overrides from the environment (<c>SNE__CHILDREN__COUNT=8</c> sets <c>children.count</c>) and from
/// <c>--set key.path=value</c>, in that order.
/// Every failure (missing, unreadable, empty or binary file, syntax error, duplicate key, a non-mapping root, a bad
/// override, a bad sweep) is a <see cref="ConfigException"/> that names the file, line and column.
/// </summary>
public static class YamlDocumentReader
{
    /// <summary>Largest configuration file accepted.</summary>
    public const long MaxBytes = 1 << 20;

    /// <summary>Prefix of environment variables that override configuration keys (<c>__</c> separates keys).</summary>
    public const string EnvironmentPrefix = "SNE__";

    /// <summary>Most points a sweep may have.</summary>
    public const int MaxSweepPoints = 10_000;

    /// <summary>Loads <paramref name="path"/> with its bases, then applies environment overrides and <paramref name="overrides"/> in order.</summary>
    public static ConfigDocument Load(string path, IEnumerable<string> overrides, IReadOnlyDictionary<string, string>? environment = null)
    {
        var sources = new Dictionary<YamlNode, string>(ReferenceEqualityComparer.Instance);
        var inherited = new HashSet<YamlNode>(ReferenceEqualityComparer.Instance);
        var root = LoadWithBases(path, sources, []);
        var sweep = ReadSweep(root, path, sources);
        foreach (var (name, value) in (environment ?? EnvironmentOverrides()).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            string keyPath = string.Join('.', name[EnvironmentPrefix.Length..].Split("__").Select(k => k.ToLowerInvariant()));
            ApplyOverride(root, $"{keyPath}={value}", sources, inherited, $"environment {name}");
        }
        foreach (var assignment in overrides) ApplyOverride(root, assignment, sources, inherited, $"--set {assignment}");
        return new ConfigDocument(path, root, sources, sweep) { InheritedOptions = inherited };
    }

    /// <summary>The process's <c>SNE__…</c> variables.</summary>
    public static IReadOnlyDictionary<string, string> EnvironmentOverrides() =>
        Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Where(e => e.Key is string k && k.StartsWith(EnvironmentPrefix, StringComparison.Ordinal) && k.Length > EnvironmentPrefix.Length)
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");

    /// <summary>
    /// Sets <paramref name="keyPath"/> to <paramref name="value"/> in the document (a sweep point), creating mappings on
    /// the way. The key is located where the value is written (the sweep: line of its file), so errors point there.
    /// </summary>
    public static void Set(ConfigDocument document, string keyPath, YamlNode value, string source)
    {
        var sources = (Dictionary<YamlNode, string>)document.OverrideSources;
        var key = Assign(document.Root, keyPath.Split('.'), value, sources, document.InheritedOptions, source);
        string file = sources.TryGetValue(value, out var s) ? s : document.Path;
        ((Dictionary<YamlNode, ConfigLocation>)document.Positions)[key] = new ConfigLocation(file, value.Start.Line, value.Start.Column, "");
    }

    private static YamlMappingNode LoadWithBases(string path, Dictionary<YamlNode, string> sources, List<string> chain)
    {
        string full = System.IO.Path.GetFullPath(path);
        var root = Parse(ReadText(path), path);
        if (chain.Count > 0) foreach (var n in root.AllNodes) sources[n] = path;   // nodes of a base file are located in it
        var extendsKey = new YamlScalarNode("extends");
        if (!root.Children.TryGetValue(extendsKey, out var extends)) return root;
        root.Children.Remove(extendsKey);
        var at = new ConfigLocation(path, extends.Start.Line, extends.Start.Column, "extends");
        var bases = extends switch
        {
            YamlScalarNode { Value: { Length: > 0 } one } => [one],
            YamlSequenceNode list when list.Children.All(c => c is YamlScalarNode { Value.Length: > 0 }) => list.Children.Select(c => ((YamlScalarNode)c).Value!).ToList(),
            _ => throw new ConfigException(at, "expected a base configuration file (or a list of them), e.g. 'extends: base.yaml'"),
        };
        var merged = new YamlMappingNode();
        foreach (var b in bases)
        {
            string basePath = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(full) ?? ".", b);
            string baseFull = System.IO.Path.GetFullPath(basePath);
            if (baseFull == full || chain.Contains(baseFull))
                throw new ConfigException(at, "extends cycle: " + string.Join(" → ", chain.Append(full).Append(baseFull).Select(System.IO.Path.GetFileName)));
            if (!File.Exists(baseFull)) throw new ConfigException(at, $"base configuration {baseFull} not found");
            merged = Merge(merged, LoadWithBases(basePath, sources, [.. chain, full]));
        }
        return Merge(merged, root);
    }

    /// <summary>
    /// Deep merge: keys of <paramref name="overlay"/> win; where both values are mappings they are merged recursively,
    /// except plugin blocks that name different plugins (<see cref="PluginBlocks.ReplacedBlock"/>): the old plugin's options are dropped.
    /// </summary>
    private static YamlMappingNode Merge(YamlMappingNode baseNode, YamlMappingNode overlay)
    {
        var result = new YamlMappingNode();
        foreach (var (k, v) in baseNode.Children) result.Children[k] = v;
        foreach (var (k, v) in overlay.Children)
        {
            result.Children[k] = result.Children.TryGetValue(k, out var existing) && existing is YamlMappingNode a && v is YamlMappingNode b
                ? PluginBlocks.ReplacedBlock(a, b) ?? Merge(a, b)
                : v;
        }
        return result;
    }

    /// <summary>Removes and checks the <c>sweep:</c> mapping: key paths to non-empty lists of values.</summary>
    private static List<SweepAxis> ReadSweep(YamlMappingNode root, string path, Dictionary<YamlNode, string> sources)
    {
        var sweepKey = new YamlScalarNode("sweep");
        if (!root.Children.TryGetValue(sweepKey, out var sweep)) return [];
        root.Children.Remove(sweepKey);
        ConfigLocation At(YamlNode n, string key) => new(sources.TryGetValue(n, out var s) ? s : path, n.Start.Line, n.Start.Column, key);
        if (sweep is not YamlMappingNode axes || axes.Children.Count == 0)
            throw new ConfigException(At(sweep, "sweep"), "expected a mapping of key paths to lists of values, e.g. 'children.sampler.sparsity: [0.1, 0.5, 0.9]'");
        var result = new List<SweepAxis>();
        long points = 1;
        foreach (var (k, v) in axes.Children)
        {
            string key = (k as YamlScalarNode)?.Value ?? "";
            if (key.Length == 0 || key.Split('.').Any(p => p.Length == 0)) throw new ConfigException(At(k, "sweep"), "expected a key path such as children.count");
            if (key == "sweep" || key == "extends" || key.StartsWith("sweep.", StringComparison.Ordinal)) throw new ConfigException(At(k, "sweep." + key), "cannot be swept");
            if (v is not YamlSequenceNode { Children.Count: > 0 } values) throw new ConfigException(At(v, "sweep." + key), "expected a non-empty list of values");
            result.Add(new SweepAxis(key, values.Children.ToList()));
            points *= values.Children.Count;
            if (points > MaxSweepPoints) throw new ConfigException(At(v, "sweep." + key), $"the grid has more than {MaxSweepPoints} points");
        }
        return result;
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
        CheckShape(stream.Documents[0].RootNode, source);
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents[0].RootNode;
            throw new ConfigException(new ConfigLocation(source, node.Start.Line, node.Start.Column, ""), "expected a mapping of keys at the top level (e.g. 'seed: 0')");
        }
        return root;
    }

    /// <summary>
    /// Refuses, before anything walks the tree: more than <see cref="ConfigBinder.MaxNodes"/> nodes counting every use of
    /// an alias (an alias bomb), nesting deeper than <see cref="ConfigBinder.MaxDepth"/>, and tags other than YAML's core
    /// types (<c>!!python/object</c>, <c>!Some.Type</c>): a configuration is plain data, and no tag ever chooses a type.
    /// </summary>
    private static readonly HashSet<string> CoreTags =
        new[] { "str", "int", "float", "bool", "null", "seq", "map" }.Select(t => "tag:yaml.org,2002:" + t).ToHashSet(StringComparer.Ordinal);

    private static void CheckShape(YamlNode root, string source)
    {
        long visited = 0;
        var stack = new Stack<(YamlNode Node, int Depth)>();
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (node, depth) = stack.Pop();
            var at = new ConfigLocation(source, node.Start.Line, node.Start.Column, "");
            if (++visited > ConfigBinder.MaxNodes) throw new ConfigException(at, $"the document expands to more than {ConfigBinder.MaxNodes} nodes (an alias bomb?)");
            if (depth > ConfigBinder.MaxDepth) throw new ConfigException(at, $"nesting deeper than {ConfigBinder.MaxDepth} levels");
            if (!node.Tag.IsEmpty && !node.Tag.IsNonSpecific && !CoreTags.Contains(node.Tag.Value))
                throw new ConfigException(at, $"YAML tags other than the core types (!!str, !!int, !!float, !!bool, !!null) are not allowed in a configuration (found '{node.Tag}'); write plain values");
            switch (node)
            {
                case YamlMappingNode mapping:
                    foreach (var (k, v) in mapping.Children) { stack.Push((k, depth + 1)); stack.Push((v, depth + 1)); }
                    break;
                case YamlSequenceNode sequence:
                    foreach (var item in sequence.Children) stack.Push((item, depth + 1));
                    break;
            }
        }
    }

    /// <summary>Applies "a.b.c=value": value is parsed as YAML (so lists and mappings work), intermediate mappings are created.</summary>
    private static void ApplyOverride(YamlMappingNode root, string assignment, Dictionary<YamlNode, string> sources, ISet<YamlNode> inherited, string source)
    {
        int eq = assignment.IndexOf('=');
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
        CheckShape(value, source);
        foreach (var n in value.AllNodes) sources[n] = source;
        Assign(root, keys, value, sources, inherited, source);
    }

    /// <summary>Whether a node's source is an override (--set, an environment variable, a sweep point) rather than a file.</summary>
    private static bool IsOverride(string source) =>
        source.StartsWith("--set ", StringComparison.Ordinal) || source.StartsWith("environment ", StringComparison.Ordinal) || source.StartsWith("sweep ", StringComparison.Ordinal);

    private static YamlScalarNode Assign(YamlMappingNode root, string[] keys, YamlNode value, Dictionary<YamlNode, string> sources, ISet<YamlNode> inherited,
        string source)
    {
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
        // Switching a block's plugin marks the old plugin's options (not those an earlier override set for the new one), so
        // resolution keeps those the new plugin has and drops the rest; a key set now is the user's, never an inherited one.
        PluginBlocks.MarkInherited(current, keys[^1], value, k => sources.TryGetValue(k, out var from) && IsOverride(from), inherited);
        if (current.Children.Keys.FirstOrDefault(k => k.Equals(last)) is { } replaced) inherited.Remove(replaced);
        sources[last] = source;
        current.Children[last] = value;
        return last;
    }
}
