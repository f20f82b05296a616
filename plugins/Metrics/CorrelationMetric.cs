using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Metrics.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Metrics;

/// <summary>Options of <see cref="CorrelationMetric"/>.</summary>
public sealed class CorrelationMetricOptions
{
    /// <summary>
    /// <c>samples</c> (dissertation eq. 7.1): the correlation of the two members' C-dimensional outputs for each sample,
    /// averaged over samples; <c>flattened</c>: one Pearson coefficient over the [N, C] outputs flattened (sne before 1.3).
    /// </summary>
    public CorrelationOver Over { get; init; } = CorrelationOver.Samples;
}

/// <summary>What <see cref="CorrelationMetric"/> correlates.</summary>
public enum CorrelationOver
{
    /// <summary>Per sample, then the mean over samples (eq. 7.1).</summary>
    Samples,
    /// <summary>Over all N · C outputs at once.</summary>
    Flattened,
}

/// <summary>
/// Output correlation (dissertation ch. 7, eq. 7.1), averaged over ordered member pairs, with the full M × M matrix.
/// Per sample n, r_n(a, b) = Σ_c (a_nc − ā_n)(b_nc − b̄_n) / √(Σ_c (a_nc − ā_n)² · Σ_c (b_nc − b̄_n)²) with ā_n the mean of
/// a_n over its C classes, and r(a, b) = mean over the samples where both outputs vary (a constant output vector, e.g.
/// exactly uniform, has no correlation and is left out; NaN when no sample remains). With <c>over: flattened</c>, one
/// Pearson coefficient over both [N, C] outputs flattened. In float64. Only for ensembles (M ≥ 2).
/// </summary>
[Plugin("correlation", PluginKind.Metric, OptionsType = typeof(CorrelationMetricOptions),
    Description = "Correlation of two members' output vectors, per sample (eq. 7.1) or flattened")]
public sealed class CorrelationMetric(CorrelationMetricOptions options) : PairwiseMetric
{
    /// <inheritdoc />
    protected override string Key => "correlation";

    /// <inheritdoc />
    protected override double[][] Matrix(MetricInput input)
    {
        using var p = input.MemberProbabilities.to_type(ScalarType.Float64);
        return Internal.Pairwise.Matrix(p, options.Over == CorrelationOver.Flattened ? Flattened : PerSample);
    }

    /// <summary>Mean over rows of the correlation of a[n, :] and b[n, :], rows where either is constant left out.</summary>
    private static double PerSample(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var x = a - a.mean([1], keepdim: true);
        var y = b - b.mean([1], keepdim: true);
        var denominator = (x.pow(2).sum(1) * y.pow(2).sum(1)).sqrt();
        var varies = denominator.gt(0);
        long count = varies.sum().ToInt64();
        if (count == 0) return double.NaN;
        var r = (x * y).sum(1).masked_select(varies) / denominator.masked_select(varies);
        return r.mean().ToDouble();
    }

    private static double Flattened(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var x = a.flatten() - a.mean();
        var y = b.flatten() - b.mean();
        return ((x * y).sum() / (x.pow(2).sum().sqrt() * y.pow(2).sum().sqrt())).ToDouble();
    }
}
