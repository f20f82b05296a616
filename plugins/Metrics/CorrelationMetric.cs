using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Metrics.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Metrics;

/// <summary>
/// Output correlation (dissertation ch. 7, eq. 7.1): the Pearson correlation between two members' probability outputs over all
/// rows and classes (each member's [N, C] output flattened), averaged over pairs, with the full M × M matrix.
/// Only for ensembles (M ≥ 2).
/// </summary>
[Plugin("correlation", PluginKind.Metric, Description = "Pearson correlation of two members' probability outputs")]
public sealed class CorrelationMetric : PairwiseMetric
{
    /// <inheritdoc />
    protected override string Key => "correlation";

    /// <inheritdoc />
    protected override double[][] Matrix(MetricInput input)
    {
        using var p = input.MemberProbabilities.to_type(ScalarType.Float64);
        using var flat = p.reshape(p.shape[0], -1, 1);
        return Internal.Pairwise.Matrix(flat, (a, b) =>
        {
            using var scope = NewDisposeScope();
            var x = a.flatten() - a.mean();
            var y = b.flatten() - b.mean();
            return ((x * y).sum() / (x.pow(2).sum().sqrt() * y.pow(2).sum().sqrt())).ToDouble();
        });
    }
}
