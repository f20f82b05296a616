namespace SubnetworkEnsembles.Testing;

/// <summary>
/// A plugin broke its contract. The message names the plugin (YAML name and class) and what was wrong, e.g.
/// <c>sampler 'checkerboard' (CheckerboardSampler): mask 'fc.weight' has shape [4, 3], the weight has [3, 4]</c>.
/// A plain exception, so that any test framework (xunit, NUnit, MSTest) reports it as a failed test.
/// </summary>
public sealed class ContractException(string plugin, string problem) : Exception($"{plugin}: {problem}")
{
    /// <summary>The plugin, as "kind 'name' (Class)".</summary>
    public string Plugin { get; } = plugin;

    /// <summary>What was wrong, without the plugin's name.</summary>
    public string Problem { get; } = problem;
}
