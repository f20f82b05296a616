namespace SubnetworkEnsembles.Abstractions;

/// <summary>The kinds of plugin the host knows; each has its own contract and plugin folder.</summary>
public enum PluginKind
{
    /// <summary>ϕ — <see cref="ISubnetworkSampler"/>.</summary>
    Sampler,
    /// <summary>ξ — <see cref="IPerturbation"/>.</summary>
    Perturbation,
    /// <summary><see cref="IOptimizerFactory"/>.</summary>
    Optimizer,
    /// <summary><see cref="ISchedule"/>.</summary>
    Schedule,
    /// <summary><see cref="IMetric"/>.</summary>
    Metric,
    /// <summary><see cref="IEnsembleCombiner"/>.</summary>
    Combiner,
    /// <summary>A network architecture — <see cref="IModelFactory"/>.</summary>
    Model,
    /// <summary>A data source — <see cref="IDatasetSource"/>.</summary>
    Dataset,
    /// <summary>An analysis of a finished run's networks — <see cref="IAnalysis"/> (added in contracts 1.3).</summary>
    Analysis,
}

/// <summary>
/// Registers a class as a plugin under the name YAML selects it by (<c>type: NAME</c>).
/// The class must implement the contract of <see cref="Kind"/> and have one public constructor;
/// that constructor may take an instance of <see cref="OptionsType"/> (bound from the YAML block
/// beside <c>type:</c> and validated before training) and services from the host's container
/// (for example <c>ILogger&lt;T&gt;</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class PluginAttribute(string name, PluginKind kind) : Attribute
{
    /// <summary>The YAML name: lower case, words joined by '-', unique within <see cref="Kind"/>.</summary>
    public string Name { get; } = name;

    /// <summary>Which contract the class implements.</summary>
    public PluginKind Kind { get; } = kind;

    /// <summary>The options class bound from YAML; null when the plugin takes no options.</summary>
    public Type? OptionsType { get; init; }

    /// <summary>One line shown by the host when it lists plugins.</summary>
    public string Description { get; init; } = "";
}

/// <summary>
/// Implemented by options classes that check themselves. The host calls <see cref="Validate"/>
/// before any training and reports every returned problem at once.
/// </summary>
public interface IValidatableOptions
{
    /// <summary>One message per problem, naming the key in YAML spelling (e.g. "k must be ≥ 2"); empty when valid.</summary>
    IEnumerable<string> Validate();
}
