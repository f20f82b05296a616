using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Metrics.Internal;

/// <summary>
/// A diversity metric defined by one pairwise statistic: reports its mean over ordered member pairs under
/// <see cref="Key"/> and the full M × M matrix; nothing for a single model.
/// </summary>
public abstract class PairwiseMetric : IPairwiseMetric
{
    /// <summary>The name of the value in results.json.</summary>
    protected abstract string Key { get; }

    /// <summary>The M × M matrix of the statistic (diagonal 0).</summary>
    protected abstract double[][] Matrix(MetricInput input);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Compute(MetricInput input) =>
        input.MemberProbabilities.shape[0] < 2 ? new Dictionary<string, double>()
            : new Dictionary<string, double> { [Key] = Internal.Pairwise.Mean(Matrix(input)) };

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double[][]> Pairwise(MetricInput input) =>
        input.MemberProbabilities.shape[0] < 2 ? new Dictionary<string, double[][]>()
            : new Dictionary<string, double[][]> { [Key] = Matrix(input) };
}

/// <summary>Builds M × M matrices of a pairwise statistic and its average over pairs.</summary>
internal static class Pairwise
{
    /// <summary>matrix[i][j] = f(members[i], members[j]) for i ≠ j, 0 on the diagonal. Members: float [M, N, C].</summary>
    public static double[][] Matrix(Tensor members, Func<Tensor, Tensor, double> f)
    {
        int m = (int)members.shape[0];
        var matrix = new double[m][];
        for (int i = 0; i < m; i++) matrix[i] = new double[m];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
            {
                if (i == j) continue;
                using var a = members[i];
                using var b = members[j];
                matrix[i][j] = f(a, b);
            }
        return matrix;
    }

    /// <summary>Mean of the off-diagonal entries (all ordered pairs i ≠ j).</summary>
    public static double Mean(double[][] matrix)
    {
        int m = matrix.Length;
        if (m < 2) return double.NaN;
        double sum = 0;
        for (int i = 0; i < m; i++) for (int j = 0; j < m; j++) if (i != j) sum += matrix[i][j];
        return sum / (m * (m - 1));
    }
}
