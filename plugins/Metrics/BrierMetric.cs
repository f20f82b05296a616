using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Metrics;

/// <summary>Brier score = (1/N) Σₙ Σ_c (p̄(c|xₙ) − 1[c = yₙ])² of the combined probabilities (0 is perfect, 2 is worst).</summary>
[Plugin("brier", PluginKind.Metric, Description = "Mean squared error between probabilities and the one-hot label")]
public sealed class BrierMetric : IMetric
{
    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Compute(MetricInput input)
    {
        using var scope = NewDisposeScope();
        var p = input.EnsembleProbabilities.to_type(ScalarType.Float64);
        var onehot = nn.functional.one_hot(input.Labels, p.shape[1]).to_type(ScalarType.Float64);
        return new Dictionary<string, double> { ["brier"] = p.sub(onehot).pow(2).sum(1).mean().ToDouble() };
    }
}
