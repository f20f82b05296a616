using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Samplers.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers;

/// <summary>Options of <see cref="StructuredSampler"/>.</summary>
public sealed class StructuredSamplerOptions : IValidatableOptions
{
    /// <summary>Fraction of each layer's neurons (Linear rows) or filters (Conv dim-0 slices) removed, in [0, 1).</summary>
    public double Sparsity { get; init; } = 0.5;

    /// <summary>true: exactly round((1 − sparsity) · units) kept per layer; false: each unit kept with probability 1 − sparsity.</summary>
    public bool ExactCount { get; init; } = true;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Sparsity is < 0 or >= 1 || double.IsNaN(Sparsity)) yield return $"sparsity: must be in [0, 1), got {Sparsity}";
    }
}

/// <summary>
/// Random structured subnetworks (dissertation §3.2 ϕ, structured): whole neurons — rows of a Linear weight [out, in] — and
/// whole filters — slices along dim 0 of a Conv weight [out, in, kh, kw] — are kept or removed together, per layer.
/// At least one unit of every layer is kept. Each child is an independent draw (set size 1).
/// </summary>
[Plugin("structured", PluginKind.Sampler, OptionsType = typeof(StructuredSamplerOptions),
    Description = "Random whole neurons (Linear rows) / filters (Conv dim-0 slices) per layer")]
public sealed class StructuredSampler(StructuredSamplerOptions options) : ISubnetworkSampler
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
            long units = MaskShapes.Units(w, Structure.Neurons);
            using var perm = randperm(units, generator: generator, device: CPU);
            Tensor unitMask;
            if (options.ExactCount) unitMask = MaskShapes.KeepFirst(perm, units, Math.Max(1, (long)Math.Round(keep * units)));
            else
            {
                using var p = full(units, keep, device: CPU);
                unitMask = bernoulli(p, generator);
                using var kept = unitMask.sum();
                using var first = perm.narrow(0, 0, 1);
                if (kept.ToDouble() == 0) unitMask.index_fill_(0, first, 1f);
            }
            using (unitMask) masks[w.Name] = MaskShapes.Expand(unitMask, w, Structure.Neurons);
        }
        return [new ChildMask(masks)];
    }
}
