using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Metrics;

/// <summary>Options of <see cref="EceMetric"/>.</summary>
public sealed class EceMetricOptions : IValidatableOptions
{
    /// <summary>Number of equal-width confidence bins B (15 is the convention of the compared literature).</summary>
    public int Bins { get; init; } = 15;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Bins < 1) yield return $"bins: must be ≥ 1, got {Bins}";
    }
}

/// <summary>
/// Expected calibration error ECE = Σ_b (|B_b|/N) |acc(B_b) − conf(B_b)| over B equal-width bins of the
/// confidence max_c p̄(c|x); bin b holds confidences in (b/B, (b+1)/B], so confidence 1.0 falls in the top bin
/// (index = clamp(⌈conf·B⌉ − 1, 0, B − 1), see <see cref="ReliabilityBins.BinIndex"/>). Also reports the maximum
/// calibration error MCE = max_b |acc(B_b) − conf(B_b)| over non-empty bins; <see cref="Bins"/> gives the bins themselves.
/// </summary>
[Plugin("ece", PluginKind.Metric, OptionsType = typeof(EceMetricOptions),
    Description = "Expected (and maximum) calibration error over equal-width confidence bins")]
public sealed class EceMetric(EceMetricOptions options) : IReliabilityMetric
{
    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Compute(MetricInput input)
    {
        using var scope = NewDisposeScope();
        int bins = options.Bins;
        var probs = input.EnsembleProbabilities.to_type(ScalarType.Float64);
        var (confidence, predicted) = probs.max(1);
        var correct = predicted.eq(input.Labels).to_type(ScalarType.Float64);
        var bin = ReliabilityBins.BinIndex(confidence, bins);
        var count = zeros(bins, ScalarType.Float64).index_add_(0, bin, ones_like(confidence), 1);
        var confSum = zeros(bins, ScalarType.Float64).index_add_(0, bin, confidence, 1);
        var accSum = zeros(bins, ScalarType.Float64).index_add_(0, bin, correct, 1);
        var gap = accSum.sub(confSum).abs();                       // |B_b| · |acc_b − conf_b|
        double n = confidence.shape[0];
        double ece = gap.sum().ToDouble() / n;
        var nonEmpty = count.gt(0);
        double mce = nonEmpty.any().ToBoolean() ? gap.div(count.clamp_min(1)).masked_select(nonEmpty).max().ToDouble() : 0;
        return new Dictionary<string, double> { ["ece"] = ece, ["mce"] = mce };
    }

    /// <inheritdoc />
    public ReliabilityBins Bins(MetricInput input) => ReliabilityBins.Compute(input.EnsembleProbabilities, input.Labels, options.Bins);
}
