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
        var reportedBy = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < metrics.Count; i++)
        {
            var (name, metric) = metrics[i];
            string plugin = $"metrics[{i}] '{name}' ({metric.GetType().FullName})";
            foreach (var (key, value) in metric.Compute(input))
            {
                if (reportedBy.TryGetValue(key, out var first)) throw new DuplicateMetricKeyException(key, first, plugin);
                reportedBy[key] = plugin;
                values[key] = value;
            }
            if (metric is IPairwiseMetric pairs)
            {
                foreach (var (key, matrix) in pairs.Pairwise(input))
                {
                    if (pairwise.ContainsKey(key)) throw new DuplicateMetricKeyException(key, reportedBy.GetValueOrDefault("pairwise:" + key, "another metric"), plugin);
                    reportedBy["pairwise:" + key] = plugin;
                    pairwise[key] = matrix;
                }
            }
        }
        return new Evaluation(values, pairwise);
    }
}

/// <summary>
/// Two configured metrics report the same key, so results.json could hold only one of them: the message names the key
/// and both plugins (key path, name and class). Exit code 3 (a plugin fault; drop one metric or rename a key).
/// </summary>
public sealed class DuplicateMetricKeyException(string key, string first, string second)
    : SneException($"two metrics report '{key}': {first} and {second}; results.json keeps one value per key — drop one of them from metrics:, or rename the key one of them returns",
        ExitCodes.RuntimeFailure);
