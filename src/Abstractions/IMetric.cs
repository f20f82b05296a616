using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>What a metric sees: the members' and the ensemble's class probabilities and the true labels.</summary>
/// <param name="MemberProbabilities">Softmax outputs of every member, float32 [M, N, C] (M = 1 for a single model).</param>
/// <param name="EnsembleProbabilities">Combined probabilities p̄, float32 [N, C], rows sum to 1.</param>
/// <param name="Labels">True classes, int64 [N].</param>
public sealed record MetricInput(Tensor MemberProbabilities, Tensor EnsembleProbabilities, Tensor Labels);

/// <summary>An evaluation metric (dissertation §3.2 "Metrics"): probabilities + labels → named values.</summary>
public interface IMetric
{
    /// <summary>
    /// Computes the metric; keys are the names written to results.json (e.g. "accuracy", or "ece" and "mce").
    /// Must not modify the inputs.
    /// </summary>
    IReadOnlyDictionary<string, double> Compute(MetricInput input);
}

/// <summary>
/// A metric over pairs of members (dissertation ch. 7 diversity): besides the pair-averaged values of <see cref="IMetric.Compute"/>,
/// it returns the full M × M matrices, written to results.json for heatmaps. Members are compared only when M ≥ 2.
/// </summary>
public interface IPairwiseMetric : IMetric
{
    /// <summary>Named M × M matrices (row i, column j = value for members i and j); empty when M &lt; 2.</summary>
    IReadOnlyDictionary<string, double[][]> Pairwise(MetricInput input);
}
