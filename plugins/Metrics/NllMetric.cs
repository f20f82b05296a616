using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Metrics;

/// <summary>
/// Negative log-likelihood NLL = −(1/N) Σₙ log p̄(yₙ|xₙ) of the combined (ensemble-averaged) probabilities,
/// computed in float64 with p clamped to ≥ 1e-12 so a confident mistake costs at most −log 1e-12 ≈ 27.6.
/// </summary>
[Plugin("nll", PluginKind.Metric, Description = "Negative log-likelihood of the combined probabilities")]
public sealed class NllMetric : IMetric
{
    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Compute(MetricInput input)
    {
        using var scope = NewDisposeScope();
        var p = input.EnsembleProbabilities.to_type(ScalarType.Float64)
            .gather(1, input.Labels.unsqueeze(1)).clamp_min(1e-12);
        return new Dictionary<string, double> { ["nll"] = -p.log().mean().ToDouble() };
    }
}
