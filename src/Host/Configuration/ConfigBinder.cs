using System.Collections;
using System.Globalization;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SubnetworkEnsembles.Host.Configuration;

/// <summary>
/// Binds a YAML node tree onto plain options classes by reflection: mapping keys in snake_case onto public settable
/// properties, scalars parsed with the invariant culture, sequences onto lists, enum values in kebab-case, and
/// <see cref="PluginSpec"/> nodes kept unbound. YAML tags never choose a type. Every problem is collected (with
/// file, line, column and key path) rather than stopping at the first; <see cref="ThrowIfProblems"/> reports them.
/// </summary>
public sealed class ConfigBinder(string defaultSource, IReadOnlyDictionary<YamlNode, string>? sources = null,
    IReadOnlyDictionary<YamlNode, ConfigLocation>? positions = null)
{
    /// <summary>Deepest nesting accepted (a guard against pathological input).</summary>
    public const int MaxDepth = 64;

    private readonly Dictionary<PluginSpec, YamlMappingNode> _pluginOptions = new(ReferenceEqualityComparer.Instance);

    /// <summary>Option keys left from a plugin that an override switched away from (<see cref="ConfigDocument.InheritedOptions"/>).</summary>
    public ISet<YamlNode> InheritedOptions { get; init; } = new HashSet<YamlNode>(ReferenceEqualityComparer.Instance);

    /// <summary>The option keys written beside <c>type:</c> of a plugin this binder read (empty when none were given).</summary>
    public YamlMappingNode PluginOptions(PluginSpec spec) => _pluginOptions.GetValueOrDefault(spec) ?? new YamlMappingNode();

    /// <summary>Most nodes visited in one bind (a guard against alias bombs, which share nodes exponentially).</summary>
    public const int MaxNodes = 100_000;

    private readonly List<ConfigProblem> _problems = [];
    private readonly Dictionary<(object, string), ConfigLocation> _keyLocations = new(ReferenceTupleComparer.Instance);
    private readonly Dictionary<object, ConfigLocation> _objectLocations = new(ReferenceEqualityComparer.Instance);
    private readonly NullabilityInfoContext _nullability = new();
    private int _visited;

    /// <summary>Problems found so far.</summary>
    public IReadOnlyList<ConfigProblem> Problems => _problems;

    /// <summary>Binds <paramref name="node"/> onto a new <typeparamref name="T"/> at key path <paramref name="path"/>.</summary>
    public T Bind<T>(YamlNode node, string path) where T : new() => (T)(Bind(typeof(T), node, path, 0) ?? new T());

    /// <summary>Binds <paramref name="node"/> (a mapping, possibly empty) onto a new instance of <paramref name="type"/>.</summary>
    public object BindObject(Type type, YamlMappingNode node, string path) =>
        Bind(type, node, path, 0) ?? Activator.CreateInstance(type)!;

    /// <summary>Location of the key <paramref name="propertyName"/> of a bound object, or of the object itself when the key was not given.</summary>
    public ConfigLocation? LocationOf(object instance, string? propertyName = null)
    {
        if (propertyName is not null && _keyLocations.TryGetValue((instance, propertyName), out var keyLocation)) return keyLocation;
        return _objectLocations.TryGetValue(instance, out var location) ? location : null;
    }

    /// <summary>The file being bound (for problems that have no node).</summary>
    public string Source => defaultSource;

    /// <summary>Records a problem found by later validation.</summary>
    public void Report(ConfigLocation location, string message) => _problems.Add(new ConfigProblem(location, message));

    /// <summary>Throws a <see cref="ConfigException"/> listing every problem, if there are any.</summary>
    public void ThrowIfProblems()
    {
        if (_problems.Count > 0) throw new ConfigException(_problems.ToList());
    }

    /// <summary>The location of a node, attributed to its source (the file, or the --set option it came from).</summary>
    public ConfigLocation Locate(YamlNode node, string path) =>
        positions is not null && positions.TryGetValue(node, out var at) ? at with { KeyPath = path }
        : new(sources is not null && sources.TryGetValue(node, out var s) ? s : defaultSource, node.Start.Line, node.Start.Column, path);

    private object? Bind(Type type, YamlNode node, string path, int depth)
    {
        if (++_visited > MaxNodes) { Fail(node, path, $"the configuration has more than {MaxNodes} nodes (an alias bomb?)"); return null; }
        if (depth > MaxDepth) { Fail(node, path, $"nesting deeper than {MaxDepth} levels"); return null; }

        var underlying = Nullable.GetUnderlyingType(type);
        if (node is YamlScalarNode { Style: ScalarStyle.Plain } nullScalar && IsNull(nullScalar.Value))
        {
            if (underlying is not null) return null;
            Fail(node, path, $"expected {Describe(type)}, got null");
            return null;
        }
        type = underlying ?? type;

        if (type == typeof(PluginSpec)) return BindPlugin(node, path);
        if (type == typeof(string) || type.IsPrimitive || type.IsEnum || type == typeof(decimal))
            return node is YamlScalarNode scalar ? ParseScalar(type, scalar, path) : Fail(node, path, $"expected {Describe(type)}, got a {Shape(node)}");
        if (ListElementType(type) is { } element)
        {
            if (node is not YamlSequenceNode sequence) return Fail(node, path, $"expected a list of {Describe(element)}, got a {Shape(node)}");
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
            int i = 0;
            foreach (var item in sequence)
            {
                // A bad item is reported (and skipped); a value type cannot hold the null that stands for it.
                var value = Bind(element, item, $"{path}[{i++}]", depth + 1);
                if (value is not null || !element.IsValueType) list.Add(value);
            }
            if (type.IsArray)
            {
                var array = Array.CreateInstance(element, list.Count);
                list.CopyTo(array, 0);
                return array;
            }
            return list;
        }
        if (node is not YamlMappingNode mapping) return Fail(node, path, $"expected a mapping of keys ({Describe(type)}), got a {Shape(node)}");
        return BindMapping(type, mapping, path, depth);
    }

    private object BindMapping(Type type, YamlMappingNode mapping, string path, int depth)
    {
        var instance = Activator.CreateInstance(type) ?? throw new InvalidOperationException($"cannot create {type}");
        _objectLocations[instance] = Locate(mapping, path);
        var properties = Settable(type);
        // A plugin whose options are this block's other keys (data: { dataset: csv, path: …, validation: … }).
        var inline = properties.FirstOrDefault(p => p.PropertyType == typeof(PluginSpec) && p.IsDefined(typeof(InlineOptionsAttribute), false));
        var inlineOptions = new YamlMappingNode();
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                Fail(keyNode, path, "keys must be plain names");
                continue;
            }
            string keyPath = path.Length == 0 ? key : $"{path}.{key}";
            var property = properties.FirstOrDefault(p => ConfigNames.Normalize(p.Name) == ConfigNames.Normalize(key));
            if (property is null && inline is not null)
            {
                inlineOptions.Add(keyNode, valueNode);
                continue;
            }
            if (property is null)
            {
                var names = properties.Select(p => ConfigNames.Key(p.Name)).ToList();
                string? nearest = ConfigNames.Nearest(key, names);
                Fail(keyNode, keyPath, $"unknown key '{key}'" + (nearest is not null ? $" (did you mean '{nearest}'?)" : "") +
                    $"; valid keys here: {string.Join(", ", names)}");
                continue;
            }
            _keyLocations[(instance, property.Name)] = Locate(keyNode, keyPath);
            if (valueNode is YamlScalarNode { Style: ScalarStyle.Plain } absent && (IsNull(absent.Value) || absent.Value == "none")
                && !property.PropertyType.IsValueType && _nullability.Create(property).WriteState == NullabilityState.Nullable)
            {
                property.SetValue(instance, null);           // an optional block switched off: "tuning: none"
                continue;
            }
            int before = _problems.Count;
            // A plugin block without 'type:' gives options to the block's default plugin (model: { hidden: [64] } is an mlp).
            var value = property.PropertyType == typeof(PluginSpec) && valueNode is YamlMappingNode && property.GetValue(instance) is PluginSpec current
                ? BindPlugin(valueNode, keyPath, current.Type)
                : Bind(property.PropertyType, valueNode, keyPath, depth + 1);
            if (_problems.Count == before) property.SetValue(instance, value);
        }
        if (inline is not null && inline.GetValue(instance) is PluginSpec spec)
        {
            if (!_keyLocations.ContainsKey((instance, inline.Name)))
            {
                // The default plugin, located at the block so its option problems point there.
                spec = new PluginSpec { Type = spec.Type, Location = Locate(mapping, path) };
                inline.SetValue(instance, spec);
            }
            var options = _pluginOptions.GetValueOrDefault(spec) ?? new YamlMappingNode();
            foreach (var (k, v) in inlineOptions.Children) options.Add(k, v);
            _pluginOptions[spec] = options;
        }
        return instance;
    }

    private PluginSpec? BindPlugin(YamlNode node, string path, string? defaultType = null)
    {
        if (node is YamlScalarNode { Value: { Length: > 0 } name })
            return new PluginSpec { Type = name, Location = Locate(node, path) };
        if (node is not YamlMappingNode mapping)
        {
            Fail(node, path, $"expected a plugin, e.g. {{ type: NAME, option: value }}, got a {Shape(node)}");
            return null;
        }
        string? type = defaultType;
        var options = new YamlMappingNode();
        foreach (var (key, value) in mapping.Children)
        {
            if (key is YamlScalarNode { Value: "type" })
            {
                if (value is YamlScalarNode { Value: { Length: > 0 } t }) type = t;
                else Fail(value, $"{path}.type", "expected a plugin name");
            }
            else options.Add(key, value);
        }
        if (type is null)
        {
            Fail(node, path, "missing 'type:', the plugin's name");
            return null;
        }
        var spec = new PluginSpec { Type = type, Location = Locate(node, path) };
        _pluginOptions[spec] = options;
        return spec;
    }

    private object? ParseScalar(Type type, YamlScalarNode scalar, string path)
    {
        string text = scalar.Value ?? "";
        if (type == typeof(string)) return text;
        var inv = CultureInfo.InvariantCulture;
        if (type == typeof(bool))
        {
            switch (text.ToLowerInvariant())
            {
                case "true" or "yes" or "on": return true;
                case "false" or "no" or "off": return false;
            }
        }
        else if (type == typeof(int) && int.TryParse(text, NumberStyles.Integer, inv, out int i)) return i;
        else if (type == typeof(long) && long.TryParse(text, NumberStyles.Integer, inv, out long l)) return l;
        else if ((type == typeof(double) || type == typeof(float)) && TryParseReal(text, out double d))
            return type == typeof(float) ? (float)d : d;
        else if (type.IsEnum)
        {
            var match = Enum.GetValues(type).Cast<Enum>().FirstOrDefault(v => ConfigNames.Normalize(v.ToString()) == ConfigNames.Normalize(text));
            if (match is not null) return match;
            return Fail(scalar, path, $"expected one of {string.Join(", ", Enum.GetValues(type).Cast<Enum>().Select(ConfigNames.EnumValue))}, got '{text}'");
        }
        return Fail(scalar, path, $"expected {Describe(type)}, got '{text}'");
    }

    private static bool TryParseReal(string text, out double value)
    {
        switch (text.ToLowerInvariant())
        {
            case ".inf" or "+.inf": value = double.PositiveInfinity; return true;
            case "-.inf": value = double.NegativeInfinity; return true;
            case ".nan": value = double.NaN; return true;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private object? Fail(YamlNode node, string path, string message)
    {
        _problems.Add(new ConfigProblem(Locate(node, path), message));
        return null;
    }

    private static bool IsNull(string? value) => value is null or "" or "~" or "null" or "Null" or "NULL";

    private static List<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetIndexParameters().Length == 0).ToList();

    private static Type? ListElementType(Type type)
    {
        if (type.IsArray) return type.GetElementType();
        if (!type.IsGenericType) return null;
        var def = type.GetGenericTypeDefinition();
        return def == typeof(List<>) || def == typeof(IList<>) || def == typeof(IReadOnlyList<>) || def == typeof(IEnumerable<>)
            ? type.GetGenericArguments()[0] : null;
    }

    private static string Shape(YamlNode node) => node switch
    {
        YamlScalarNode s => $"value '{s.Value}'",
        YamlSequenceNode => "list",
        _ => "mapping",
    };

    /// <summary>A human name for the type expected at a key.</summary>
    public static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(int) || type == typeof(long)) return "an integer";
        if (type == typeof(double) || type == typeof(float)) return "a number";
        if (type == typeof(bool)) return "true or false";
        if (type == typeof(string)) return "a string";
        if (type.IsEnum) return "one of " + string.Join(", ", Enum.GetValues(type).Cast<Enum>().Select(ConfigNames.EnumValue));
        if (type == typeof(PluginSpec)) return "a plugin";
        return type.Name;
    }

    private sealed class ReferenceTupleComparer : IEqualityComparer<(object, string)>
    {
        public static readonly ReferenceTupleComparer Instance = new();
        public bool Equals((object, string) x, (object, string) y) => ReferenceEquals(x.Item1, y.Item1) && x.Item2 == y.Item2;
        public int GetHashCode((object, string) obj) => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item1), obj.Item2);
    }
}
