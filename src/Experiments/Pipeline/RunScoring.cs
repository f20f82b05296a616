using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// The run's configured combiner and metric plugins, as the report uses them: the ensemble of members [M, N, C] is
/// <see cref="IEnsembleCombiner.Combine"/>'s [N, C] (so <c>combiner: vote</c> gives vote shares, not the mean), its
/// numbers are the metrics' (the same code as results.json), and the reliability diagram's bins are those of the run's
/// <see cref="IReliabilityMetric"/> (the <c>ece</c> metric, with its configured bin count).
/// </summary>
public sealed class RunScoring
{
    /// <summary>Bins of the reliability diagram when no configured metric bins by confidence: the <c>ece</c> metric's default.</summary>
    public const int DefaultBins = 15;

    private readonly IReadOnlyList<(string Name, IMetric Metric)> _metrics;

    /// <summary>Scoring with <paramref name="combiner"/> and the named <paramref name="metrics"/> (plugin name, instance).</summary>
    public RunScoring(IEnsembleCombiner combiner, IReadOnlyList<(string Name, IMetric Metric)> metrics)
    {
        Combiner = combiner;
        _metrics = metrics;
        Evaluation = new MemberEvaluation(metrics, combiner);
        ScalarEvaluation = new MemberEvaluation(metrics.Where(m => m.Metric is not IPairwiseMetric).ToList(), combiner);
    }

    /// <summary>The plugins of a resolved run configuration: its <c>combiner:</c> and every entry of <c>metrics:</c>.</summary>
    public static RunScoring Create(ExperimentConfig config, PluginFactory plugins) =>
        new(plugins.Create<IEnsembleCombiner>(config.Combiner), config.Metrics.Select(m => (m.Type, plugins.Create<IMetric>(m))).ToList());

    /// <summary>The configured combiner: members' probabilities [M, N, C] → ensemble probabilities [N, C].</summary>
    public IEnsembleCombiner Combiner { get; }

    /// <summary>Every configured metric over the combined members (what results.json's <c>ensemble</c> holds).</summary>
    public MemberEvaluation Evaluation { get; }

    /// <summary>The configured metrics that are not pairwise (cheap enough for every ensemble size m = 1 … M).</summary>
    public MemberEvaluation ScalarEvaluation { get; }

    /// <summary>
    /// Confidence bins of <paramref name="probabilities"/> [N, C] against <paramref name="labels"/> [N]: those of the
    /// first configured <see cref="IReliabilityMetric"/>, else <see cref="ReliabilityBins.Compute"/> with <see cref="DefaultBins"/>.
    /// </summary>
    public ReliabilityBins Bins(Tensor probabilities, Tensor labels)
    {
        var metric = _metrics.Select(m => m.Metric).OfType<IReliabilityMetric>().FirstOrDefault();
        if (metric is null) return ReliabilityBins.Compute(probabilities, labels, DefaultBins);
        using var members = probabilities.unsqueeze(0);
        return metric.Bins(new MetricInput(members, probabilities, labels));
    }
}
