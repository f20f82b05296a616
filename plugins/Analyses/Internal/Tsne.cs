using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Analyses.Internal;

/// <summary>The optimisation schedule of <see cref="Tsne.Embed"/> (van der Maaten &amp; Hinton 2008, §3.4).</summary>
/// <param name="Iterations">Gradient steps T (paper: 1000).</param>
/// <param name="LearningRate">Initial step η (paper: 100), adapted per coordinate by Jacobs's gains.</param>
/// <param name="Exaggeration">Factor on every p_ij during early exaggeration (paper: 4).</param>
/// <param name="ExaggerationIterations">Steps with exaggerated P (paper: 50).</param>
/// <param name="MomentumSwitch">Momentum α = 0.5 before this step, 0.8 from it on (paper: 250).</param>
internal sealed record TsneSchedule(int Iterations = 1000, double LearningRate = 100, double Exaggeration = 4, int ExaggerationIterations = 50, int MomentumSwitch = 250);

/// <summary>Exact (O(n²)) t-SNE in TorchSharp, float64 throughout.</summary>
internal static class Tsne
{
    /// <summary>
    /// Squared Euclidean distances D_ij = ‖x_i − x_j‖² of the rows of <paramref name="x"/> [n, F] (float64 [n, n], diagonal 0, never negative).
    /// </summary>
    public static Tensor SquaredDistances(Tensor x)
    {
        using var scope = NewDisposeScope();
        var v = x.to_type(ScalarType.Float64);
        var norms = v.square().sum(1);
        var d = norms.unsqueeze(1) + norms.unsqueeze(0) - 2 * v.matmul(v.t());
        return d.clamp_min(0).masked_fill(eye(v.shape[0], dtype: ScalarType.Bool), 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The conditional probabilities p_{j|i} = exp(−β_i D_ij) / Σ_{k≠i} exp(−β_i D_ik) (p_{i|i} = 0), float64 [n, n], with
    /// β_i = 1/(2σ_i²) found per row by bisection on log β_i so that the entropy H(P_i) = −Σ_j p_{j|i} ln p_{j|i} equals
    /// ln(<paramref name="perplexity"/>) to within <paramref name="tolerance"/> nats (rows in chunks of
    /// <paramref name="chunk"/> to bound memory). <paramref name="entropies"/>: each row's H(P_i) [n].
    /// </summary>
    public static Tensor Conditional(Tensor squaredDistances, double perplexity, out Tensor entropies, double tolerance = 1e-7, int chunk = 512)
    {
        long n = squaredDistances.shape[0];
        double target = Math.Log(perplexity);
        var result = zeros(n, n, dtype: ScalarType.Float64);
        var h = zeros(n, dtype: ScalarType.Float64);
        for (long start = 0; start < n; start += chunk)
        {
            using var scope = NewDisposeScope();
            long m = Math.Min(chunk, n - start);
            var d = squaredDistances.narrow(0, start, m).to_type(ScalarType.Float64);
            var self = arange(start, start + m).unsqueeze(1) == arange(n).unsqueeze(0);
            // Shift each row by its smallest distance to another point: P is unchanged, exp never underflows to all zeros.
            var shifted = d - d.masked_fill(self, double.PositiveInfinity).min(1, keepdim: true).values;
            var logBeta = zeros(m, 1, dtype: ScalarType.Float64).sub_(Math.Log(shifted.masked_fill(self, 0).mean().ToDouble() + 1e-12));
            var low = full(m, 1, double.NegativeInfinity, dtype: ScalarType.Float64);
            var high = full(m, 1, double.PositiveInfinity, dtype: ScalarType.Float64);
            Tensor p = null!, entropy = null!;
            for (int step = 0; step < 200; step++)
            {
                using var inner = NewDisposeScope();
                var beta = logBeta.exp();
                var e = (-beta * shifted).exp().masked_fill(self, 0);
                var z = e.sum(1, keepdim: true);
                p?.Dispose();
                entropy?.Dispose();
                p = (e / z).MoveToOuterDisposeScope();
                entropy = (z.log() + beta * (p * shifted).sum(1, keepdim: true)).MoveToOuterDisposeScope();
                var error = entropy - target;
                if (error.abs().max().ToDouble() < tolerance) break;
                // Entropy falls as β grows: too high an entropy → larger β.
                var tooFlat = error > 0;
                var newLow = where(tooFlat, logBeta, low);
                var newHigh = where(tooFlat, high, logBeta);
                var next = where(newLow.isinf(), newHigh - 1, where(newHigh.isinf(), newLow + 1, (newLow + newHigh) / 2));
                low.Dispose();
                high.Dispose();
                logBeta.Dispose();
                low = newLow.MoveToOuterDisposeScope();
                high = newHigh.MoveToOuterDisposeScope();
                logBeta = next.MoveToOuterDisposeScope();
            }
            result.narrow(0, start, m).copy_(p);
            h.narrow(0, start, m).copy_(entropy.squeeze(1));
        }
        entropies = h;
        return result;
    }

    /// <summary>The joint P = (P_cond + P_condᵀ) / (2n), floored at 1e-12 (float64 [n, n]).</summary>
    public static Tensor Joint(Tensor conditional)
    {
        long n = conditional.shape[0];
        using var scope = NewDisposeScope();
        return (conditional + conditional.t()).div_(2.0 * n).clamp_min_(1e-12).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The t-SNE cost and gradient at <paramref name="y"/> [n, 2]: q_ij = (1 + ‖y_i − y_j‖²)⁻¹ / Σ_{k≠l}(1 + ‖y_k − y_l‖²)⁻¹
    /// (floored at 1e-12), KL(P‖Q) = Σ_{i≠j} p_ij ln(p_ij / q_ij), and ∂KL/∂y_i = 4 Σ_j (p_ij − q_ij)(1 + ‖y_i − y_j‖²)⁻¹ (y_i − y_j).
    /// </summary>
    public static (double Kl, Tensor Gradient) KlAndGradient(Tensor p, Tensor y)
    {
        using var scope = NewDisposeScope();
        var self = eye(y.shape[0], dtype: ScalarType.Bool);
        var num = (1 + SquaredDistances(y)).reciprocal().masked_fill(self, 0);
        var q = (num / num.sum()).clamp_min(1e-12);
        var offDiagonal = (~self).to_type(p.dtype);
        double kl = (offDiagonal * p * (p / q).log()).sum().ToDouble();
        return (kl, Gradient(p, y).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// ∂KL/∂y_i = 4 Σ_{j≠i} (p_ij − q_ij) n_ij (y_i − y_j) with n_ij = (1 + ‖y_i − y_j‖²)⁻¹ and q_ij = n_ij / Σ_{k≠l} n_kl
    /// (unfloored), computed in place with two [n, n] buffers in <paramref name="p"/>'s dtype; y [n, 2] → [n, 2].
    /// </summary>
    public static Tensor Gradient(Tensor p, Tensor y)
    {
        using var scope = NewDisposeScope();
        var v = y.to_type(p.dtype);
        var squares = v.square().sum(1);
        var num = v.matmul(v.t());
        num.mul_(-2).add_(squares.unsqueeze(1)).add_(squares.unsqueeze(0)).clamp_min_(0).add_(1).reciprocal_();
        num.diagonal().zero_();
        var w = num.div(num.sum());
        w.neg_().add_(p).mul_(num);
        w.diagonal().zero_();
        var gradient = (w.sum(1, keepdim: true) * v - w.matmul(v)).mul_(4).to_type(y.dtype);
        return gradient.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Embeds the joint probabilities <paramref name="p"/> [n, n] in 2-D: y⁰ ~ N(0, 10⁻⁴ I) from <paramref name="generator"/>,
    /// then gradient descent with momentum, y ← y + v, v ← α v − η g ⊙ gains (gains + 0.2 where g > 0 and v > 0 differ, × 0.8
    /// otherwise, floored at 0.01), P multiplied by the exaggeration in the first steps, as <paramref name="schedule"/>
    /// sets; the gradients are computed in float32. Returns the embedding float64 [n, 2] (mean-centred) and the final
    /// KL(P‖Q) (float64).
    /// </summary>
    public static (Tensor Embedding, double Kl) Embed(Tensor p, TsneSchedule schedule, Generator generator)
    {
        long n = p.shape[0];
        var y = randn(n, 2, dtype: ScalarType.Float64, generator: generator).mul_(1e-2);
        using var velocity = zeros(n, 2, dtype: ScalarType.Float64);
        using var gains = ones(n, 2, dtype: ScalarType.Float64);
        // The n × n work in float32 (y, its velocity and gains stay float64): half the memory traffic per step.
        using var single = p.to_type(ScalarType.Float32);
        using var exaggerated = single * schedule.Exaggeration;
        for (int t = 0; t < schedule.Iterations; t++)
        {
            using var scope = NewDisposeScope();
            var g = Gradient(t < schedule.ExaggerationIterations ? exaggerated : single, y);
            double momentum = t < schedule.MomentumSwitch ? 0.5 : 0.8;
            var differ = (g > 0) != (velocity > 0);
            gains.copy_(where(differ, gains + 0.2, gains * 0.8).clamp_min(0.01));
            velocity.mul_(momentum).sub_(g * gains * schedule.LearningRate);
            y.add_(velocity);
            y.sub_(y.mean([0], keepdim: true));
        }
        var (kl, last) = KlAndGradient(p, y);
        last.Dispose();
        return (y, kl);
    }

    /// <summary>
    /// The k-nearest-neighbour purity of <paramref name="points"/> [n, d] with classes <paramref name="labels"/> [n]: the mean
    /// over points of the fraction of their k nearest other points (Euclidean) that share their class, in [0, 1].
    /// </summary>
    public static double KnnPurity(Tensor points, Tensor labels, int k)
    {
        using var scope = NewDisposeScope();
        var d = SquaredDistances(points).masked_fill(eye(points.shape[0], dtype: ScalarType.Bool), double.PositiveInfinity);
        var nearest = d.topk(k, dim: 1, largest: false).indexes;
        var theirs = labels.index_select(0, nearest.flatten()).reshape(nearest.shape);
        return (theirs == labels.unsqueeze(1)).to_type(ScalarType.Float64).mean().ToDouble();
    }
}
