using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// How many rows to push through a network at once when nothing is trained (evaluation, analyses): the host's
/// evaluator and the analysis plugins use this one rule.
/// </summary>
public static class EvaluationBatches
{
    /// <summary>
    /// Rows per evaluation batch for samples of <paramref name="sampleShape"/>: the largest power of two, between 16 and
    /// 1,024, whose batch holds at most 2²⁰ input values for a network of Linear layers only (1,024 rows of tables and
    /// 28×28 images, 256 of 3×32×32) or 2¹⁶ for one with convolutions, whose activations are many times the input
    /// (64 rows of 28×28, 16 of 3×32×32 or larger). Measured for ResNet-20 on 2,000 Fashion-MNIST test images: 8.7 s
    /// and 0.95 GB peak with 1,024 rows, 4.2 s and 0.79 GB with 64; for 1,000 LeNet-S rows at each point of a loss
    /// surface: 0.28 s in one batch, 0.036 s in batches of this size. Rows are independent in evaluation mode, so the
    /// batch size does not change what is computed.
    /// </summary>
    public static int RowsFor(bool convolutional, long[] sampleShape)
    {
        long values = Math.Max(1, sampleShape.Aggregate(1L, (a, b) => a * b));
        long budget = convolutional ? 1L << 16 : 1L << 20;
        int rows = 1024;
        while (rows > 16 && rows * values > budget) rows /= 2;
        return rows;
    }

    /// <summary><see cref="RowsFor(bool, long[])"/> for <paramref name="network"/> (convolutional when any of its modules is a Conv2d).</summary>
    public static int RowsFor(nn.Module<Tensor, Tensor> network, long[] sampleShape) =>
        RowsFor(network.modules().Any(m => m is TorchSharp.Modules.Conv2d), sampleShape);
}
