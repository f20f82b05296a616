using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Metrics.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Metrics;

/// <summary>
/// Disagreement diversity (dissertation ch. 7): d(f₁, f₂) = (1/N) Σₙ 1[argmax f₁(xₙ) ≠ argmax f₂(xₙ)], averaged over member
/// pairs, with the full M × M matrix. Reported only for ensembles (M ≥ 2).
/// </summary>
[Plugin("disagreement", PluginKind.Metric, Description = "Fraction of rows on which two members predict different classes")]
public sealed class DisagreementMetric : PairwiseMetric
{
    /// <inheritdoc />
    protected override string Key => "disagreement";

    /// <inheritdoc />
    protected override double[][] Matrix(MetricInput input)
    {
        using var scope = NewDisposeScope();
        var predictions = input.MemberProbabilities.argmax(2).unsqueeze(2);      // [M, N, 1]
        return Internal.Pairwise.Matrix(predictions, (a, b) =>
        {
            using var pairScope = NewDisposeScope();
            return a.ne(b).to_type(ScalarType.Float64).mean().ToDouble();
        });
    }
}
