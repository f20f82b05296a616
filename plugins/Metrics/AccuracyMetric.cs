using SubnetworkEnsembles.Abstractions;
using TorchSharp;

namespace SubnetworkEnsembles.Metrics;

/// <summary>Accuracy = (1/N) Σₙ 1[argmax_c p̄(c|xₙ) = yₙ] of the combined probabilities.</summary>
[Plugin("accuracy", PluginKind.Metric, Description = "Fraction of test rows whose most probable class is the label")]
public sealed class AccuracyMetric : IMetric
{
    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Compute(MetricInput input)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var hits = input.EnsembleProbabilities.argmax(1).eq(input.Labels).to_type(TorchSharp.torch.ScalarType.Float64);
        return new Dictionary<string, double> { ["accuracy"] = hits.mean().ToDouble() };
    }
}
