using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Samplers.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers;

/// <summary>Options of <see cref="BernoulliSampler"/>.</summary>
public sealed class BernoulliSamplerOptions : IValidatableOptions
{
    /// <summary>Fraction of weights masked out, in [0, 1). Keep probability ρ = 1 − sparsity.</summary>
    public double Sparsity { get; init; } = 0.5;

    /// <summary>
    /// false: every entry is kept independently with probability ρ (Bernoulli draw, sparsity exact only in expectation);
    /// true: exactly round(ρ · n) entries are kept, chosen uniformly at random (per layer, or over the network when global).
    /// </summary>
    public bool ExactCount { get; init; }

    /// <summary>layerwise: the count is per layer; global: one exact count over all maskable weights (needs exact_count).</summary>
    public Scope Scope { get; init; } = Scope.Layerwise;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Sparsity is < 0 or >= 1 || double.IsNaN(Sparsity)) yield return $"sparsity: must be in [0, 1), got {Sparsity}";
        if (Scope == Scope.Global && !ExactCount) yield return "scope: global random masking is an exact count over the network; set exact_count: true (an independent Bernoulli draw is the same globally and per layer)";
    }
}

/// <summary>
/// Random unstructured subnetworks (dissertation §3.2 ϕ, random): M ~ Bernoulli(1 − sparsity) elementwise, or an exact-count
/// uniformly random subset per layer (layerwise) or over the whole network (global: layers lose different fractions).
/// Each child is an independent draw (set size 1).
/// </summary>
[Plugin("bernoulli", PluginKind.Sampler, OptionsType = typeof(BernoulliSamplerOptions),
    Description = "Random unstructured subnetwork: M ~ Bernoulli(1 − sparsity), or an exact random count")]
public sealed class BernoulliSampler(BernoulliSamplerOptions options) : ISubnetworkSampler
{
    /// <inheritdoc />
    public int SetSize => 1;

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator)
    {
        double keep = 1 - options.Sparsity;
        var masks = new Dictionary<string, Tensor>();
        if (options.Scope == Scope.Global)
        {
            long total = weights.Sum(w => w.Weight.numel());
            using var perm = randperm(total, generator: generator, device: CPU);
            using var flat = MaskShapes.KeepFirst(perm, total, (long)Math.Round(keep * total));
            long offset = 0;
            foreach (var w in weights)
            {
                long n = w.Weight.numel();
                masks[w.Name] = flat.narrow(0, offset, n).reshape(w.Weight.shape).clone();
                offset += n;
            }
            return [new ChildMask(masks)];
        }
        foreach (var w in weights)
        {
            if (options.ExactCount)
            {
                long n = w.Weight.numel();
                using var perm = randperm(n, generator: generator, device: CPU);
                using var flat = MaskShapes.KeepFirst(perm, n, (long)Math.Round(keep * n));
                masks[w.Name] = flat.reshape(w.Weight.shape).clone();
            }
            else
            {
                using var p = full(w.Weight.shape, keep, device: CPU);
                masks[w.Name] = bernoulli(p, generator);
            }
        }
        return [new ChildMask(masks)];
    }
}
