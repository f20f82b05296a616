using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Testing;

/// <summary>
/// Checks of a plugin's options class (<see cref="IValidatableOptions"/>): the defaults are valid, a bad value is
/// rejected with a message that names its key in YAML spelling (snake_case, e.g. "keep_fraction: must be in (0, 1]").
/// </summary>
public static class OptionsContract
{
    /// <summary>A default-constructed <typeparamref name="TOptions"/> passes <see cref="IValidatableOptions.Validate"/>.</summary>
    public static void DefaultsAreValid<TOptions>() where TOptions : IValidatableOptions, new() => Accepts(new TOptions());

    /// <summary><paramref name="valid"/> passes <see cref="IValidatableOptions.Validate"/> (no problem reported).</summary>
    public static void Accepts<TOptions>(TOptions valid) where TOptions : IValidatableOptions
    {
        var problems = valid.Validate().ToList();
        if (problems.Count > 0)
            throw new ContractException($"options {typeof(TOptions).Name}", $"valid options were rejected: {string.Join("; ", problems)}");
    }

    /// <summary>
    /// <paramref name="invalid"/> (e.g. <c>new MyOptions { Sparsity = 1.5 }</c>) is rejected with at least one problem whose
    /// message contains <paramref name="key"/> (the YAML key, e.g. "sparsity").
    /// </summary>
    public static void Rejects<TOptions>(TOptions invalid, string key) where TOptions : IValidatableOptions
    {
        var problems = invalid.Validate().ToList();
        string plugin = $"options {typeof(TOptions).Name}";
        if (problems.Count == 0) throw new ContractException(plugin, $"a bad value of '{key}' was accepted: Validate() reported no problem");
        if (!problems.Any(p => p.Contains(key, StringComparison.Ordinal)))
            throw new ContractException(plugin, $"a bad value of '{key}' was rejected without naming the key: {string.Join("; ", problems)}");
    }
}
