using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Host.Pipeline;

/// <summary>Runs the configured metrics over one model's or a whole ensemble's test-set probabilities.</summary>
public sealed class MemberEvaluation(IReadOnlyList<(string Name, IMetric Metric)> metrics)
{
    /// <summary>Metrics of a single model: probabilities [N, C].</summary>
    public SortedDictionary<string, double> Single(Tensor probabilities, Tensor labels)
    {
        using var members = probabilities.unsqueeze(0);
        return Evaluate(new MetricInput(members, probabilities, labels));
    }

    /// <summary>
    /// Metrics of the ensemble: members' probabilities [M, N, C] combined by the mean of softmax outputs
    /// (SPEC §1 "Prediction"): p̄ = (1/M) Σₘ pₘ.
    /// </summary>
    public SortedDictionary<string, double> Ensemble(Tensor memberProbabilities, Tensor labels)
    {
        using var combined = memberProbabilities.mean([0]);
        return Evaluate(new MetricInput(memberProbabilities, combined, labels));
    }

    private SortedDictionary<string, double> Evaluate(MetricInput input)
    {
        var values = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, metric) in metrics)
        {
            foreach (var (key, value) in metric.Compute(input))
            {
                if (!values.TryAdd(key, value))
                    throw new InvalidOperationException($"metric '{name}' reports '{key}', which another metric already reported");
            }
        }
        return values;
    }
}
