using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Plugins;

namespace SubnetworkEnsembles.Experiments.Configuration;

/// <summary>
/// Resolves an <see cref="ExperimentConfig"/> against a <see cref="PluginCatalog"/>: gives every <see cref="PluginSpec"/>
/// its kind, checks the plugin exists, fills in default options where none were given, validates options and the
/// experiment. The YAML host binds options from its document first and reports with file and line; a config made in
/// C# is resolved by <see cref="Resolve"/>, which reports key paths.
/// </summary>
public static class PluginResolution
{
    /// <summary>Every plugin spec of <paramref name="config"/> with its kind and key path (e.g. "children.tuning.schedule").</summary>
    public static IEnumerable<(PluginSpec Spec, PluginKind Kind, string Path)> SpecsOf(ExperimentConfig config)
    {
        yield return (config.Data.Dataset, PluginKind.Dataset, "data");
        yield return (config.Model, PluginKind.Model, "model");
        yield return (config.Parent.Optimizer, PluginKind.Optimizer, "parent.optimizer");
        yield return (config.Parent.Schedule, PluginKind.Schedule, "parent.schedule");
        yield return (config.Children.Sampler, PluginKind.Sampler, "children.sampler");
        yield return (config.Children.Perturbation, PluginKind.Perturbation, "children.perturbation");
        if (config.Children.Tuning is { } tuning)
        {
            yield return (tuning.Optimizer, PluginKind.Optimizer, "children.tuning.optimizer");
            yield return (tuning.Schedule, PluginKind.Schedule, "children.tuning.schedule");
        }
        if (config.Children.FirstTuning is { } first)
        {
            yield return (first.Optimizer, PluginKind.Optimizer, "children.first_tuning.optimizer");
            yield return (first.Schedule, PluginKind.Schedule, "children.first_tuning.schedule");
        }
        yield return (config.Combiner, PluginKind.Combiner, "combiner");
        for (int i = 0; i < config.Metrics.Count; i++) yield return (config.Metrics[i], PluginKind.Metric, $"metrics[{i}]");
        for (int i = 0; i < config.Analyses.Count; i++) yield return (config.Analyses[i], PluginKind.Analysis, $"analyses[{i}]");
    }

    /// <summary>"unknown sampler 'x' (did you mean 'y'?); known: …", or null when the catalog has the plugin.</summary>
    public static string? UnknownPlugin(PluginSpec spec, PluginKind kind, PluginCatalog catalog)
    {
        if (catalog.Find(kind, spec.Type) is not null) return null;
        var known = catalog.NamesOf(kind);
        string? nearest = ConfigNames.Nearest(spec.Type, known);
        return $"unknown {kind.ToString().ToLowerInvariant()} '{spec.Type}'" + (nearest is not null ? $" (did you mean '{nearest}'?)" : "") +
            $"; known: {(known.Count > 0 ? string.Join(", ", known) : "none — are the plugin directories right?")}";
    }

    /// <summary>The trust-region search's keys name options the configured sampler and perturbation have; problems as (key path, message).</summary>
    public static IEnumerable<(string Path, string Message)> TrustRegionProblems(ExperimentConfig config, PluginCatalog catalog)
    {
        if (config.Children.TrustRegion is not { } region) yield break;
        var perturbation = catalog.Find(PluginKind.Perturbation, config.Children.Perturbation.Type);
        if (perturbation is not null && !PluginFactory.HasOption(perturbation.OptionsType, region.SigmaKey))
            yield return ("children.trust_region.sigma_key",
                $"perturbation '{perturbation.Name}' has no option '{region.SigmaKey}' for the trust-region search to vary (use e.g. noise)");
        var sampler = catalog.Find(PluginKind.Sampler, config.Children.Sampler.Type);
        if (sampler is not null && region.Sparsities.Count > 0 && !PluginFactory.HasOption(sampler.OptionsType, region.SparsityKey))
            yield return ("children.trust_region.sparsity_key", $"sampler '{sampler.Name}' has no option '{region.SparsityKey}' for the trust-region search to vary");
    }

    /// <summary>
    /// Resolves a configuration made in code: kinds, plugin names, options (a spec's <see cref="PluginSpec.BoundOptions"/>
    /// must be an instance of the plugin's options class, or null for its defaults) and the experiment's own rules.
    /// Throws <see cref="ConfigException"/> listing every problem by key path (exit code 2).
    /// </summary>
    public static void Resolve(ExperimentConfig config, PluginCatalog catalog)
    {
        var problems = new List<(string Path, string Message)>();
        foreach (var (spec, kind, path) in SpecsOf(config))
        {
            spec.Kind = kind;
            if (UnknownPlugin(spec, kind, catalog) is { } unknown)
            {
                problems.Add(($"{path}.{(kind == PluginKind.Dataset ? "dataset" : "type")}", unknown));
                continue;
            }
            var descriptor = catalog.Find(kind, spec.Type)!;
            if (descriptor.OptionsType is null)
            {
                if (spec.BoundOptions is not null)
                    problems.Add((path, $"{kind.ToString().ToLowerInvariant()} '{spec.Type}' takes no options, got a {spec.BoundOptions.GetType().Name}"));
                continue;
            }
            spec.BoundOptions ??= Activator.CreateInstance(descriptor.OptionsType);
            if (!descriptor.OptionsType.IsInstanceOfType(spec.BoundOptions))
            {
                problems.Add((path, $"{kind.ToString().ToLowerInvariant()} '{spec.Type}' takes options of type {descriptor.OptionsType.FullName}, got {spec.BoundOptions!.GetType().FullName}"));
                continue;
            }
            if (spec.BoundOptions is IValidatableOptions validatable)
                problems.AddRange(validatable.Validate().Select(message => ExperimentConfig.Split(path, message)));
        }
        problems.AddRange(TrustRegionProblems(config, catalog));
        problems.AddRange(config.Validate());
        if (problems.Count > 0)
            throw new ConfigException(problems.Select(p => new ConfigProblem(ConfigLocation.OfKey(p.Path), p.Message)).ToList());
    }
}
