using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// Equal-width confidence bins of a classifier's predictions (the reliability diagram and ECE): the confidence of a row
/// is max_c p(c|x); bin b of B holds confidences in (b/B, (b+1)/B], i.e. index = clamp(⌈conf·B⌉ − 1, 0, B − 1), so a
/// confidence exactly on an edge b/B belongs to the lower bin b − 1 and confidence 1.0 to the top bin.
/// ECE = Σ_b (|B_b|/N) |acc(B_b) − conf(B_b)|. Computed in float64.
/// </summary>
/// <param name="Count">Rows per bin |B_b|, length B.</param>
/// <param name="Confidence">Mean confidence conf(B_b) per bin; NaN for an empty bin.</param>
/// <param name="Accuracy">Fraction acc(B_b) of the bin's rows whose most probable class is the label; NaN for an empty bin.</param>
public sealed record ReliabilityBins(long[] Count, double[] Confidence, double[] Accuracy)
{
    /// <summary>The bin of every confidence: clamp(⌈conf·B⌉ − 1, 0, B − 1), int64 with the shape of <paramref name="confidence"/>.</summary>
    /// <param name="confidence">Top-class probabilities in [0, 1] (any float type; float64 for the metric's values).</param>
    /// <param name="bins">The number of bins B ≥ 1.</param>
    public static Tensor BinIndex(Tensor confidence, int bins)
    {
        using var scaled = confidence.mul(bins);
        using var ceiling = scaled.ceil();
        using var lower = ceiling.sub(1);
        using var clamped = lower.clamp(0, bins - 1);
        return clamped.to_type(ScalarType.Int64);
    }

    /// <summary>The bins of <paramref name="probabilities"/> [N, C] against <paramref name="labels"/> int64 [N].</summary>
    /// <param name="probabilities">Class probabilities [N, C] (converted to float64 before taking the maximum).</param>
    /// <param name="labels">True classes, int64 [N].</param>
    /// <param name="bins">The number of bins B ≥ 1.</param>
    public static ReliabilityBins Compute(Tensor probabilities, Tensor labels, int bins)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        using var scope = NewDisposeScope();
        var (confidence, predicted) = probabilities.to_type(ScalarType.Float64).max(1);
        var bin = BinIndex(confidence, bins).cpu().data<long>().ToArray();
        var conf = confidence.cpu().data<double>().ToArray();
        var hit = predicted.eq(labels).cpu().data<bool>().ToArray();
        var count = new long[bins];
        var confSum = new double[bins];
        var correct = new double[bins];
        for (int i = 0; i < bin.Length; i++)
        {
            count[bin[i]]++;
            confSum[bin[i]] += conf[i];
            correct[bin[i]] += hit[i] ? 1 : 0;
        }
        return new ReliabilityBins(count,
            confSum.Select((c, b) => count[b] > 0 ? c / count[b] : double.NaN).ToArray(),
            correct.Select((c, b) => count[b] > 0 ? c / count[b] : double.NaN).ToArray());
    }

    /// <summary>Expected calibration error Σ_b (|B_b|/N) |acc(B_b) − conf(B_b)| over the non-empty bins (0 when there are no rows).</summary>
    public double ExpectedCalibrationError
    {
        get
        {
            double n = Count.Sum();
            return n == 0 ? 0 : Enumerable.Range(0, Count.Length).Where(b => Count[b] > 0).Sum(b => Count[b] / n * Math.Abs(Accuracy[b] - Confidence[b]));
        }
    }
}
