using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SnePlugin;

/// <summary>Options of <see cref="SnePlugin"/>: the YAML keys beside <c>type: sne-plugin-name</c> (snake_case).</summary>
public sealed class SnePluginOptions : IValidatableOptions
{
    /// <summary>Fraction of every weight tensor masked out, in [0, 1): each weight is kept with probability 1 − sparsity.</summary>
    public double Sparsity { get; init; } = 0.5;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Sparsity is < 0 or >= 1 || double.IsNaN(Sparsity)) yield return $"sparsity: must be in [0, 1), got {Sparsity}";
    }
}

/// <summary>
/// ϕ, a subnetwork sampler: every weight is kept independently, M ~ Bernoulli(1 − sparsity), one child per draw.
/// Select it with <c>children: { sampler: { type: sne-plugin-name, sparsity: 0.5 } }</c>.
/// </summary>
[Plugin("sne-plugin-name", PluginKind.Sampler, OptionsType = typeof(SnePluginOptions), Description = "Random mask: each weight kept with probability 1 − sparsity")]
public sealed class SnePlugin(SnePluginOptions options) : ISubnetworkSampler
{
    /// <inheritdoc />
    public int SetSize => 1;

    /// <summary>One child: a float32 0/1 mask of each weight's shape, on the CPU, drawn only from <paramref name="generator"/>.</summary>
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator)
    {
        var masks = new Dictionary<string, Tensor>();
        foreach (var w in weights)
        {
            using var keep = full(w.Weight.shape, 1 - options.Sparsity);
            masks[w.Name] = bernoulli(keep, generator);
        }
        return [new ChildMask(masks)];
    }
}
