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

    /// <summary>
    /// Computes each metric once on a small synthetic input (M = 2 members, N = 6 rows, C = 3 classes) so that two metrics
    /// reporting the same key are found before anything trains (<see cref="DuplicateMetricKeyException"/>); a metric that
    /// fails on this input is left to the real evaluation.
    /// </summary>
    public static void CheckDistinctKeys(IReadOnlyList<(string Name, IMetric Metric)> metrics)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(0);
        var members = randn([2, 6, 3], generator: generator).softmax(-1);
        var input = new MetricInput(members, members.mean([0]), tensor(new long[] { 0, 1, 2, 0, 1, 2 }));
        var working = metrics.Select((m, i) => (m, i)).Where(x => Succeeds(x.m.Metric, input)).ToList();
        new MemberEvaluation(working.Select(x => x.m).ToList(), new MeanOfMembers()).Evaluate(input, working.Select(x => x.i).ToList());
    }

    private static bool Succeeds(IMetric metric, MetricInput input)
    {
        try
        {
            metric.Compute(input);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Stands in for the combiner where none is needed (the synthetic check passes combined probabilities itself).</summary>
    private sealed class MeanOfMembers : IEnsembleCombiner
    {
        public Tensor Combine(Tensor memberProbabilities) => memberProbabilities.mean([0]);
    }

    private Evaluation Evaluate(MetricInput input) => Evaluate(input, null);

    /// <summary>The metrics' values; <paramref name="positions"/> are their indices in metrics: (default: 0, 1, …), for messages.</summary>
    private Evaluation Evaluate(MetricInput input, List<int>? positions)
    {
        var values = new SortedDictionary<string, double>(StringComparer.Ordinal);
        var pairwise = new SortedDictionary<string, double[][]>(StringComparer.Ordinal);
        var reportedBy = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < metrics.Count; i++)
        {
            var (name, metric) = metrics[i];
            string plugin = $"metrics[{positions?[i] ?? i}] '{name}' ({metric.GetType().FullName})";
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
