using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Samplers.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers;

/// <summary>Options of <see cref="MagnitudeSampler"/>.</summary>
public sealed class MagnitudeSamplerOptions : IValidatableOptions
{
    /// <summary>Fraction of weights (or neurons) removed, in [0, 1).</summary>
    public double Sparsity { get; init; } = 0.5;

    /// <summary>Score single weights by |w| (connections) or rows/filters by Σ|w| (neurons).</summary>
    public Structure Structure { get; init; } = Structure.Connections;

    /// <summary>layerwise: each layer keeps its own largest; global: one threshold over all maskable layers.</summary>
    public Scope Scope { get; init; } = Scope.Layerwise;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Sparsity is < 0 or >= 1 || double.IsNaN(Sparsity)) yield return $"sparsity: must be in [0, 1), got {Sparsity}";
    }
}

/// <summary>
/// L1 magnitude pruning (dissertation §3.2 ϕ, magnitude; the pruning-literature baseline of §6.3.1): keeps the
/// round((1 − sparsity) · n) units with the largest |w| (or Σ|w| per neuron/filter), within each layer or with one
/// global threshold. Deterministic: every child of a run gets the same mask (set size 1).
/// </summary>
[Plugin("magnitude", PluginKind.Sampler, OptionsType = typeof(MagnitudeSamplerOptions),
    Description = "Keep the largest-magnitude weights (L1), layerwise or global, unstructured or structured")]
public sealed class MagnitudeSampler(MagnitudeSamplerOptions options) : ISubnetworkSampler
{
    /// <inheritdoc />
    public int SetSize => 1;

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator)
    {
        double keep = 1 - options.Sparsity;
        var scores = weights.Select(w => MaskShapes.Magnitude(w, options.Structure)).ToList();
        var masks = new Dictionary<string, Tensor>();
        try
        {
            if (options.Scope == Scope.Global)
            {
                using var all = cat(scores, 0);
                long total = all.shape[0], kept = (long)Math.Round(keep * total);
                var (sortedScores, order) = all.sort(0, descending: true, stable: true);
                using var _ = sortedScores;
                using var __ = order;
                using var flat = MaskShapes.KeepFirst(order, total, kept);
                long offset = 0;
                for (int i = 0; i < weights.Count; i++)
                {
                    long n = scores[i].shape[0];
                    using var unitMask = flat.narrow(0, offset, n);
                    masks[weights[i].Name] = MaskShapes.Expand(unitMask, weights[i], options.Structure);
                    offset += n;
                }
            }
            else
            {
                for (int i = 0; i < weights.Count; i++)
                {
                    long n = scores[i].shape[0];
                    var (sortedScores, order) = scores[i].sort(0, descending: true, stable: true);
                    using var _ = sortedScores;
                    using var __ = order;
                    using var unitMask = MaskShapes.KeepFirst(order, n, Math.Max(1, (long)Math.Round(keep * n)));
                    masks[weights[i].Name] = MaskShapes.Expand(unitMask, weights[i], options.Structure);
                }
            }
        }
        finally
        {
            foreach (var s in scores) s.Dispose();
        }
        return [new ChildMask(masks)];
    }
}
