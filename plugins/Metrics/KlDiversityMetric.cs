using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Metrics.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Metrics;

/// <summary>
/// KL diversity (dissertation ch. 7): d(f₁, f₂) = (1/N) Σₙ Σ_c f₁ log(f₁ / f₂) (float64, probabilities clamped to ≥ 1e-12),
/// averaged over ordered member pairs, with the full (asymmetric) M × M matrix. Only for ensembles (M ≥ 2).
/// </summary>
[Plugin("kl-diversity", PluginKind.Metric, Description = "Mean KL divergence between the outputs of two members")]
public sealed class KlDiversityMetric : PairwiseMetric
{
    /// <inheritdoc />
    protected override string Key => "kl_diversity";

    /// <inheritdoc />
    protected override double[][] Matrix(MetricInput input)
    {
        using var scope = NewDisposeScope();
        var p = input.MemberProbabilities.to_type(ScalarType.Float64).clamp_min(1e-12);
        var logp = p.log();
        return Internal.Pairwise.Matrix(stack([p, logp], 1), (a, b) =>
        {
            using var scope = NewDisposeScope();
            return (a[0] * (a[1] - b[1])).sum(1).mean().ToDouble();
        });
    }
}
