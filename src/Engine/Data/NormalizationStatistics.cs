using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Data;

/// <summary>Normalisation statistics of a split, computed by streaming it in batches.</summary>
public static class NormalizationStatistics
{
    /// <summary>
    /// Per-channel (inputs [N, C, H, W]: channel c over all rows and pixels) or per-feature (inputs [N, F]) mean μ and
    /// population standard deviation σ = √(E[x²] − μ²) over every row of <paramref name="split"/>, read
    /// <paramref name="batchSize"/> rows at a time with float64 sums. A constant channel or feature (σ = 0) gets σ = 1, so
    /// x′ = x − μ there.
    /// </summary>
    public static Normalization Compute(IDataSplit split, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (split.Count == 0) throw new ArgumentException("cannot compute normalisation statistics of an empty split", nameof(split));
        Tensor? sum = null, squares = null;
        long perChannel = 0;
        try
        {
            for (long start = 0; start < split.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                using var rows = arange(start, Math.Min(start + batchSize, split.Count), dtype: ScalarType.Int64);
                using var batch = split.Read(rows);
                var values = batch.to_type(ScalarType.Float64).reshape(batch.shape[0], batch.shape[1], -1);   // [B, C, pixels] ([B, F, 1] for tables)
                var batchSum = values.sum([0, 2]);
                var batchSquares = values.square().sum([0, 2]);
                perChannel += values.shape[0] * values.shape[2];
                if (sum is null) { sum = batchSum.MoveToOuterDisposeScope(); squares = batchSquares.MoveToOuterDisposeScope(); }
                else { sum.add_(batchSum); squares!.add_(batchSquares); }
            }
            using var mean = sum!.div(perChannel);
            using var variance = squares!.div(perChannel).sub_(mean.square()).clamp_min_(0);
            using var std = variance.sqrt_();
            using var safeStd = std.where(std.gt(0), 1.0);
            using var meanFloat = mean.to_type(ScalarType.Float32);
            using var stdFloat = safeStd.to_type(ScalarType.Float32);
            return new Normalization(meanFloat.data<float>().ToArray(), stdFloat.data<float>().ToArray());
        }
        finally
        {
            sum?.Dispose();
            squares?.Dispose();
        }
    }
}
