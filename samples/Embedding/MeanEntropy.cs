using SubnetworkEnsembles.Abstractions;
using TorchSharp;

namespace SubnetworkEnsembles.Samples.Embedding;

/// <summary>
/// A plugin of this program, registered in process (<c>catalog.Register&lt;MeanEntropy&gt;()</c>): the mean predictive
/// entropy (1/N) Σₙ −Σ_c p̄(c|xₙ) log p̄(c|xₙ) of the combined probabilities p̄ [N, C], in nats.
/// </summary>
[Plugin("entropy", PluginKind.Metric, Description = "Mean predictive entropy of the combined probabilities (nats)")]
public sealed class MeanEntropy : IMetric
{
    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Compute(MetricInput input)
    {
        using var scope = torch.NewDisposeScope();
        var p = input.EnsembleProbabilities.to_type(torch.ScalarType.Float64).clamp_min(1e-12);
        return new Dictionary<string, double> { ["entropy"] = (-(p * p.log()).sum(1)).mean().ToDouble() };
    }
}
