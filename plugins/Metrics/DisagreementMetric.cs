using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Metrics.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Metrics;

/// <summary>
/// Disagreement diversity (SPEC §5): d(f₁, f₂) = (1/N) Σₙ 1[argmax f₁(xₙ) ≠ argmax f₂(xₙ)], averaged over member
/// pairs, with the full M × M matrix. Reported only for ensembles (M ≥ 2).
/// </summary>
[Plugin("disagreement", PluginKind.Metric, Description = "Fraction of rows on which two members predict different classes")]
public sealed class DisagreementMetric : IPairwiseMetric
{
    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Compute(MetricInput input) =>
        input.MemberProbabilities.shape[0] < 2 ? new Dictionary<string, double>()
            : new Dictionary<string, double> { ["disagreement"] = Internal.Pairwise.Mean(Matrix(input)) };

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double[][]> Pairwise(MetricInput input) =>
        input.MemberProbabilities.shape[0] < 2 ? new Dictionary<string, double[][]>()
            : new Dictionary<string, double[][]> { ["disagreement"] = Matrix(input) };

    private static double[][] Matrix(MetricInput input)
    {
        using var predictions = input.MemberProbabilities.argmax(2).unsqueeze(2);      // [M, N, 1]
        return Internal.Pairwise.Matrix(predictions, (a, b) =>
        {
            using var differ = a.ne(b).to_type(ScalarType.Float64).mean();
            return differ.ToDouble();
        });
    }
}
