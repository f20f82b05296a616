using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers;

/// <summary>Options of <see cref="BernoulliSampler"/>.</summary>
public sealed class BernoulliSamplerOptions : IValidatableOptions
{
    /// <summary>Fraction of each layer's weights masked out, in [0, 1). Keep probability ρ = 1 − sparsity.</summary>
    public double Sparsity { get; init; } = 0.5;

    /// <summary>
    /// false: every entry is kept independently with probability ρ (Bernoulli draw, sparsity exact only in expectation);
    /// true: exactly round(ρ · n) entries of each layer are kept, chosen uniformly at random.
    /// </summary>
    public bool ExactCount { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Sparsity is < 0 or >= 1 || double.IsNaN(Sparsity)) yield return $"sparsity: must be in [0, 1), got {Sparsity}";
    }
}

/// <summary>
/// Unstructured, layerwise random subnetworks: for each maskable weight W, M ~ Bernoulli(1 − sparsity)
/// elementwise (or an exact-count random subset). Each child is an independent draw (set size 1).
/// </summary>
[Plugin("bernoulli", PluginKind.Sampler, OptionsType = typeof(BernoulliSamplerOptions),
    Description = "Random unstructured subnetwork per layer: M ~ Bernoulli(1 − sparsity)")]
public sealed class BernoulliSampler(BernoulliSamplerOptions options) : ISubnetworkSampler
{
    /// <inheritdoc />
    public int SetSize => 1;

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator)
    {
        double keep = 1 - options.Sparsity;
        var masks = new Dictionary<string, Tensor>();
        foreach (var w in weights)
        {
            var shape = w.Weight.shape;
            if (options.ExactCount)
            {
                long n = w.Weight.numel(), kept = (long)Math.Round(keep * n);
                using var perm = randperm(n, generator: generator);
                var flat = zeros(n);
                using var selected = perm.narrow(0, 0, kept);
                flat.index_fill_(0, selected, 1f);
                masks[w.Name] = flat.reshape(shape);
            }
            else
            {
                using var p = full(shape, keep);
                masks[w.Name] = bernoulli(p, generator);
            }
        }
        return [new ChildMask(masks)];
    }
}
