using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Combiners;

/// <summary>Options of <see cref="MeanCombiner"/>.</summary>
public sealed class MeanCombinerOptions : IValidatableOptions
{
    /// <summary>Optional non-negative weights, one per member (normalised to sum to 1); empty = equal weights.</summary>
    public List<double> Weights { get; init; } = [];

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Weights.Any(w => !(w >= 0))) yield return "weights: every weight must be ≥ 0";
        if (Weights.Count > 0 && Weights.Sum() <= 0) yield return "weights: at least one weight must be > 0";
    }
}

/// <summary>The mean of the members' softmax outputs (dissertation §3.2): p̄ = Σₘ wₘ pₘ / Σₘ wₘ, equal weights by default.</summary>
[Plugin("mean", PluginKind.Combiner, OptionsType = typeof(MeanCombinerOptions), Description = "Average of the members' softmax outputs (optionally weighted)")]
public sealed class MeanCombiner(MeanCombinerOptions options) : IEnsembleCombiner
{
    /// <inheritdoc />
    public Tensor Combine(Tensor memberProbabilities)
    {
        if (options.Weights.Count == 0) return memberProbabilities.mean([0]);
        long m = memberProbabilities.shape[0];
        if (options.Weights.Count != m)
            throw new InvalidOperationException($"mean combiner: {options.Weights.Count} weights for {m} members");
        double total = options.Weights.Sum();
        using var w = tensor(options.Weights.Select(x => (float)(x / total)).ToArray()).to(memberProbabilities.device).reshape(m, 1, 1);
        using var weighted = memberProbabilities * w;
        return weighted.sum([0]);
    }
}
