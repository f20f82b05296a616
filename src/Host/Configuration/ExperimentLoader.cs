using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Host.Configuration;

/// <summary>
/// Turns a YAML file plus overrides into a validated <see cref="ExperimentConfig"/>: binds the document, resolves
/// every plugin name against the catalog (an unknown name lists the known ones), binds and validates each plugin's
/// options, and validates the experiment. All problems are reported at once as one <see cref="ConfigException"/>.
/// </summary>
public static class ExperimentLoader
{
    /// <summary>
    /// Reads and binds the document (with its bases, environment and --set overrides, and the values of one sweep
    /// <paramref name="point"/> when given); plugin names are resolved later by <c>Resolve</c>.
    /// </summary>
    public static (ConfigDocument Document, ExperimentConfig Config, ConfigBinder Binder) Read(string path, IEnumerable<string> overrides,
        IReadOnlyList<(string KeyPath, YamlDotNet.RepresentationModel.YamlNode Value)>? point = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var document = YamlDocumentReader.Load(path, overrides, environment);
        LegacyRunConfig.DropUnusedDefaults(document.Root);
        foreach (var (key, value) in point ?? []) YamlDocumentReader.Set(document, key, value, $"sweep {key}");
        var binder = new ConfigBinder(path, document.OverrideSources, document.Positions) { InheritedOptions = document.InheritedOptions };
        var config = binder.Bind<ExperimentConfig>(document.Root, "");
        binder.ThrowIfProblems();
        return (document, config, binder);
    }

    /// <summary>Plugin directories the config names, made absolute relative to the config file.</summary>
    public static IEnumerable<string> PluginDirectories(ConfigDocument document, ExperimentConfig config)
    {
        string baseDir = Path.GetDirectoryName(Path.GetFullPath(document.Path)) ?? ".";
        return config.Plugins.Directories.Select(d => Path.GetFullPath(d, baseDir));
    }

    /// <summary>Resolves and validates every plugin spec and the experiment; throws <see cref="ConfigException"/> listing all problems.</summary>
    public static void Resolve(ExperimentConfig config, ConfigBinder binder, PluginCatalog catalog)
    {
        foreach (var (spec, kind, path) in PluginResolution.SpecsOf(config)) Resolve(spec, kind, path, binder, catalog);
        foreach (var (path, message) in PluginResolution.TrustRegionProblems(config, catalog)) binder.Report(LocationOfPath(config, binder, path), message);
        foreach (var (path, message) in config.Validate()) binder.Report(LocationOfPath(config, binder, path), message);
        binder.ThrowIfProblems();
    }

    private static void Resolve(PluginSpec spec, PluginKind kind, string path, ConfigBinder binder, PluginCatalog catalog)
    {
        spec.Kind = kind;
        var location = spec.Location.Source.Length > 0 ? spec.Location : new ConfigLocation(binder.Source, 0, 0, path);
        if (PluginResolution.UnknownPlugin(spec, kind, catalog) is { } unknown)
        {
            binder.Report(location with { KeyPath = path + (kind == PluginKind.Dataset ? ".dataset" : ".type") }, unknown);
            return;
        }
        var descriptor = catalog.Find(kind, spec.Type)!;
        // Options left from the plugin an override switched away from: kept where this plugin has them, dropped otherwise.
        var given = binder.PluginOptions(spec);
        foreach (var key in given.Children.Keys.Where(k => binder.InheritedOptions.Contains(k) && !PluginFactory.HasOption(descriptor.OptionsType, KeyName(k))).ToList())
            given.Children.Remove(key);
        if (descriptor.OptionsType is null)
        {
            // Every key beside 'type:' is refused, each at its own line, so none is silently ignored.
            foreach (var key in binder.PluginOptions(spec).Children.Keys)
            {
                string name = KeyName(key);
                binder.Report(binder.Locate(key, $"{path}.{name}"), $"unknown key '{name}': {kind.ToString().ToLowerInvariant()} '{spec.Type}' takes no options");
            }
            return;
        }
        int before = binder.Problems.Count;
        var options = binder.BindObject(descriptor.OptionsType, binder.PluginOptions(spec), path);
        if (binder.Problems.Count > before) return;
        if (options is IValidatableOptions validatable)
        {
            foreach (var message in validatable.Validate())
            {
                var (keyPath, text) = ExperimentConfig.Split(path, message);
                string key = keyPath.Length > path.Length ? keyPath[(path.Length + 1)..] : "";
                var property = descriptor.OptionsType.GetProperties().FirstOrDefault(p => ConfigNames.Key(p.Name) == key);
                var where = (property is not null ? binder.LocationOf(options, property.Name) : null) ?? location;
                binder.Report(where with { KeyPath = keyPath }, text);
            }
        }
        spec.BoundOptions = options;
    }

    private static string KeyName(YamlDotNet.RepresentationModel.YamlNode key) =>
        key is YamlDotNet.RepresentationModel.YamlScalarNode { Value: { } text } ? text : key.ToString();

    /// <summary>
    /// <paramref name="e"/> with every problem the experiment reported by key path alone (source "configuration", as
    /// the library's checks of data and model do: corruptions on non-image data, mc_dropout without dropout) placed at
    /// its key's file:line:column in the YAML that <paramref name="binder"/> read.
    /// </summary>
    public static ConfigException Locate(ConfigException e, ExperimentConfig config, ConfigBinder binder) =>
        e.Problems.All(p => p.Location.Source != ConfigLocation.Unplaced) ? e
            : new ConfigException(e.Problems.Select(p => p.Location.Source == ConfigLocation.Unplaced ? p with { Location = LocationOfPath(config, binder, p.Location.KeyPath) } : p).ToList());

    /// <summary>Finds the YAML location of a key path like "children.tuning.epochs" in the bound objects.</summary>
    private static ConfigLocation LocationOfPath(ExperimentConfig config, ConfigBinder binder, string path)
    {
        object current = config;
        ConfigLocation? best = binder.LocationOf(config);
        foreach (var key in path.Split('.'))
        {
            var property = current.GetType().GetProperties().FirstOrDefault(p => ConfigNames.Key(p.Name) == key);
            if (property is null) break;
            best = binder.LocationOf(current, property.Name) ?? best;
            var next = property.GetValue(current);
            if (next is null || next.GetType().IsPrimitive || next is string) break;
            current = next;
        }
        return (best ?? new ConfigLocation(binder.Source, 0, 0, "")) with { KeyPath = path };
    }
}
