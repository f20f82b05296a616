using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>Per-channel (images [C, H, W]) or per-feature (tables [F]) mean and standard deviation of a split, streamed in batches.</summary>
public static class NormalizationStatistics
{
    /// <summary>
    /// Mean and population standard deviation (float64 sums of x and x²) over the rows <paramref name="rows"/> (null =
    /// all) of <paramref name="split"/>; a std of 0 (a constant channel) becomes 1 so the channel is only centred.
    /// </summary>
    public static Normalization Compute(IDataSplit split, Tensor? rows, long[] shape, int batchSize)
    {
        long n = rows?.shape[0] ?? split.Count;
        int channels = (int)shape[0];
        long[] reduce = shape.Length == 3 ? [0, 2, 3] : [0];
        long perRow = shape.Length == 3 ? shape[1] * shape[2] : 1;
        using var sum = zeros(channels, dtype: ScalarType.Float64);
        using var squares = zeros(channels, dtype: ScalarType.Float64);
        for (long start = 0; start < n; start += batchSize)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(batchSize, n - start);
            var index = rows is null ? arange(start, start + count, dtype: ScalarType.Int64) : rows.narrow(0, start, count);
            var x = split.Read(index).to_type(ScalarType.Float64);
            if (shape.Length != 3) x = x.reshape(count, channels);
            sum.add_(x.sum(reduce));
            squares.add_(x.square().sum(reduce));
        }
        double total = n * perRow;
        var mean = (sum / total).data<double>().ToArray();
        var meanSquare = (squares / total).data<double>().ToArray();
        var std = mean.Zip(meanSquare, (m, s) => Math.Sqrt(Math.Max(0, s - m * m))).Select(s => s > 1e-12 ? s : 1).ToArray();
        return new Normalization([.. mean.Select(m => (float)m)], [.. std.Select(s => (float)s)]);
    }
}
