using Microsoft.Extensions.DependencyInjection;
using SubnetworkEnsembles.Host.Configuration;

namespace SubnetworkEnsembles.Host.Plugins;

/// <summary>
/// Creates plugin instances from resolved <see cref="PluginSpec"/>s: the constructor receives the bound options
/// object and any services registered in the container (e.g. <c>ILogger&lt;T&gt;</c>).
/// </summary>
public sealed class PluginFactory(IServiceProvider services, PluginCatalog catalog)
{
    /// <summary>Instantiates the plugin a resolved spec names, as its contract <typeparamref name="T"/>.</summary>
    public T Create<T>(PluginSpec spec) where T : class
    {
        var descriptor = catalog.Find(spec.Kind, spec.Type)
            ?? throw new InvalidOperationException($"{spec.Kind} plugin '{spec.Type}' was not resolved before use");
        object[] arguments = spec.BoundOptions is null ? [] : [spec.BoundOptions];
        try
        {
            return (T)ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType, arguments);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var cause = e is System.Reflection.TargetInvocationException { InnerException: { } inner } ? inner : e;
            throw new PluginLoadException($"{spec.Kind} plugin '{spec.Type}' ({descriptor.ImplementationType.FullName} in {descriptor.AssemblyPath}) failed to construct: {cause.Message}", cause);
        }
    }
}

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
