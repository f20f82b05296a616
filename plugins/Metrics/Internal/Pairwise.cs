using static TorchSharp.torch;

namespace SubnetworkEnsembles.Metrics.Internal;

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
