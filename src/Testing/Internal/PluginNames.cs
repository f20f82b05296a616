using System.Reflection;
using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Testing.Internal;

/// <summary>How contract failures name a plugin: "kind 'name' (Class)" from its <see cref="PluginAttribute"/>.</summary>
internal static class PluginNames
{
    /// <summary>"sampler 'bernoulli' (BernoulliSampler)", or "sampler BernoulliSampler" for a class without [Plugin].</summary>
    public static string Of(object plugin, string kind)
    {
        var type = plugin.GetType();
        var attribute = type.GetCustomAttribute<PluginAttribute>();
        return attribute is null ? $"{kind} {type.Name}" : $"{kind} '{attribute.Name}' ({type.Name})";
    }
}
