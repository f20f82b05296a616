using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>Metric values of one model or one ensemble: scalars, and M × M matrices of pairwise metrics.</summary>
public sealed record Evaluation(SortedDictionary<string, double> Values, SortedDictionary<string, double[][]> Pairwise);

/// <summary>Runs the configured metrics over one model's or a whole ensemble's test-set probabilities.</summary>
public sealed class MemberEvaluation(IReadOnlyList<(string Name, IMetric Metric)> metrics, IEnsembleCombiner combiner)
{
    /// <summary>The metrics and combiner <paramref name="config"/> names, made by <paramref name="plugins"/>.</summary>
    internal static MemberEvaluation Configured(ExperimentConfig config, PluginFactory plugins) =>
        RunScoring.Create(config, plugins).Evaluation;

    /// <summary>Metrics of a single model: probabilities [N, C].</summary>
    public Evaluation OfOneModel(Tensor probabilities, Tensor labels)
    {
        using var members = probabilities.unsqueeze(0);
        return Evaluate(new MetricInput(members, probabilities, labels));
    }

    /// <summary>Metrics of the ensemble: members' probabilities [M, N, C] combined by the configured combiner.</summary>
    public Evaluation Ensemble(Tensor memberProbabilities, Tensor labels)
    {
        using var combined = combiner.Combine(memberProbabilities);
        return Evaluate(new MetricInput(memberProbabilities, combined, labels));
    }

    private Evaluation Evaluate(MetricInput input)
    {
        var values = new SortedDictionary<string, double>(StringComparer.Ordinal);
        var pairwise = new SortedDictionary<string, double[][]>(StringComparer.Ordinal);
        foreach (var (name, metric) in metrics)
        {
            foreach (var (key, value) in metric.Compute(input))
            {
                if (!values.TryAdd(key, value))
                    throw new InvalidOperationException($"metric '{name}' reports '{key}', which another metric already reported");
            }
            if (metric is IPairwiseMetric pairs)
                foreach (var (key, matrix) in pairs.Pairwise(input)) pairwise[key] = matrix;
        }
        return new Evaluation(values, pairwise);
    }
}
