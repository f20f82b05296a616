using Microsoft.Extensions.DependencyInjection;
using SubnetworkEnsembles.Experiments.Configuration;

namespace SubnetworkEnsembles.Experiments.Plugins;

/// <summary>
/// Creates plugin instances from resolved <see cref="PluginSpec"/>s: the constructor receives the bound options
/// object and any services registered in the container (e.g. <c>ILogger&lt;T&gt;</c>).
/// </summary>
public sealed class PluginFactory(IServiceProvider services, PluginCatalog catalog)
{
    /// <summary>Instantiates the plugin a resolved spec names, as its contract <typeparamref name="T"/>.</summary>
    public T Create<T>(PluginSpec spec) where T : class => Create<T>(spec, null);

    /// <summary>
    /// Instantiates the plugin with some options replaced (YAML key → value), e.g. { sigma: 0.01 } during a
    /// trust-region search. The bound options are copied, never modified; the copy is validated again.
    /// </summary>
    public T Create<T>(PluginSpec spec, IReadOnlyDictionary<string, object>? overrides) where T : class
    {
        var descriptor = catalog.Find(spec.Kind, spec.Type)
            ?? throw new InvalidOperationException($"{spec.Kind} plugin '{spec.Type}' was not resolved before use");
        object? options = spec.BoundOptions;
        if (overrides is { Count: > 0 })
        {
            if (options is null) throw new InvalidOperationException($"{spec.Kind} plugin '{spec.Type}' takes no options");
            options = WithOverrides(options, overrides, $"{spec.Kind.ToString().ToLowerInvariant()} '{spec.Type}'");
        }
        object[] arguments = options is null ? [] : [options];
        try
        {
            return (T)ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType, arguments);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var cause = e is System.Reflection.TargetInvocationException { InnerException: { } inner } ? inner : e;
            throw new PluginLoadException($"{spec.Kind.ToString().ToLowerInvariant()} plugin '{spec.Type}' ({descriptor.ImplementationType.FullName} in {descriptor.AssemblyPath}) failed to construct: {cause.Message}{TorchSharpHint(spec, cause)}", cause);
        }
    }

    /// <summary>"sampler 'partition' (Namespace.Type in /path/Plugin.dll)", for messages.</summary>
    public string Describe(PluginSpec spec)
    {
        var d = catalog.Find(spec.Kind, spec.Type);
        return $"{spec.Kind.ToString().ToLowerInvariant()} '{spec.Type}'" + (d is null ? "" : $" ({d.ImplementationType.FullName} in {d.AssemblyPath})");
    }

    /// <summary>
    /// Calls into a plugin; an exception it throws becomes a <see cref="PluginCallException"/> naming the plugin, its
    /// assembly and the call (training divergence and cancellation pass through unchanged).
    /// </summary>
    public T Call<T>(PluginSpec spec, string method, Func<T> call)
    {
        try
        {
            return call();
        }
        catch (Exception e) when (e is not (OperationCanceledException or PluginCallException or Engine.Training.TrainingDivergedException))
        {
            throw new PluginCallException($"{Describe(spec)} failed in {method}: {e.Message}{TorchSharpHint(spec, e)}", e);
        }
    }

    /// <summary>
    /// Every configured plugin of <paramref name="config"/> constructed once and disposed, so a constructor that throws is
    /// found before anything trains: a <see cref="PluginLoadException"/> whose message starts with the key path, e.g.
    /// "metrics[1]: metric plugin 'x' (…) failed to construct: …".
    /// </summary>
    public void ConstructAll(ExperimentConfig config)
    {
        foreach (var (spec, _, path) in PluginResolution.SpecsOf(config))
        {
            try
            {
                (Create<object>(spec) as IDisposable)?.Dispose();
            }
            catch (PluginLoadException e)
            {
                throw new PluginLoadException($"{path}: {e.Message}", e.InnerException);
            }
        }
    }

    /// <summary>
    /// The TorchSharp version note of <see cref="PluginFolders.TorchSharpMismatch"/> when <paramref name="e"/> is a missing
    /// member or type, or TorchSharp's assembly not found: what a plugin built against another TorchSharp meets.
    /// </summary>
    private string TorchSharpHint(PluginSpec spec, Exception e)
    {
        bool binding = e is MissingMemberException or TypeLoadException
            || e is FileNotFoundException { FileName: { } file } && file.StartsWith("TorchSharp", StringComparison.Ordinal);
        return binding && Find(spec) is { } descriptor ? PluginFolders.TorchSharpMismatch(PluginFolders.TorchSharpBuiltAgainst(descriptor.AssemblyPath)) : "";
    }

    /// <summary>The plugin a resolved spec names, as the catalog describes it (null before resolution).</summary>
    public PluginDescriptor? Find(PluginSpec spec) => catalog.Find(spec.Kind, spec.Type);

    /// <summary>As <see cref="Call{T}"/> for calls without a result.</summary>
    public void Call(PluginSpec spec, string method, Action call) => Call(spec, method, () => { call(); return 0; });

    /// <summary>Whether the options type of a plugin has the YAML key <paramref name="key"/>.</summary>
    public static bool HasOption(Type? optionsType, string key) =>
        optionsType?.GetProperties().Any(p => p.CanWrite && ConfigNames.Key(p.Name) == key) ?? false;

    private static object WithOverrides(object options, IReadOnlyDictionary<string, object> overrides, string plugin)
    {
        var type = options.GetType();
        var copy = Activator.CreateInstance(type)!;
        var properties = type.GetProperties().Where(p => p.CanWrite && p.GetIndexParameters().Length == 0).ToList();
        foreach (var p in properties) p.SetValue(copy, p.GetValue(options));
        foreach (var (key, value) in overrides)
        {
            var property = properties.FirstOrDefault(p => ConfigNames.Key(p.Name) == key)
                ?? throw new InvalidOperationException($"{plugin} has no option '{key}'");
            property.SetValue(copy, Convert.ChangeType(value, property.PropertyType, System.Globalization.CultureInfo.InvariantCulture));
        }
        if (copy is Abstractions.IValidatableOptions validatable && validatable.Validate().ToList() is { Count: > 0 } problems)
            throw new InvalidOperationException($"{plugin}: {string.Join("; ", problems)}");
        return copy;
    }
}

/// <summary>A plugin threw while it was called (ϕ, ξ, a metric, …); the message names the plugin and its assembly. Exit code 3.</summary>
public sealed class PluginCallException(string message, Exception inner) : SneException(message, ExitCodes.RuntimeFailure, inner);

/// <summary>Registers discovered plugins in a service collection.</summary>
public static class PluginServiceCollectionExtensions
{
    /// <summary>
    /// Adds the catalog, one keyed <see cref="PluginDescriptor"/> per plugin (key "kind:name") and the
    /// <see cref="PluginFactory"/>. Idempotent: calling it twice registers nothing twice.
    /// </summary>
    public static IServiceCollection AddSubnetworkPlugins(this IServiceCollection services, PluginCatalog catalog)
    {
        if (services.Any(s => s.ServiceType == typeof(PluginCatalog))) return services;
        services.AddSingleton(catalog);
        foreach (var d in catalog.All) services.AddKeyedSingleton(KeyOf(d.Kind, d.Name), d);
        services.AddSingleton<PluginFactory>();
        return services;
    }

    /// <summary>The service key of a plugin: "sampler:partition".</summary>
    public static string KeyOf(Abstractions.PluginKind kind, string name) => $"{kind.ToString().ToLowerInvariant()}:{name}";
}
