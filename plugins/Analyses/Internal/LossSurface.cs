using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Analyses.Internal;

/// <summary>Loss surfaces on two filter-normalised random directions (Li et al. 2018).</summary>
internal static class LossSurface
{
    /// <summary>
    /// Filter normalisation of <paramref name="direction"/> against <paramref name="weight"/> (same shape): a tensor of two
    /// or more dimensions ([out, in] or [out, in, kh, kw]) gets every output row (filter) i scaled as
    /// d_i ← d_i / ‖d_i‖ · ‖θ_i‖ (0 when ‖d_i‖ = 0); a vector (bias, norm scale or shift) or scalar becomes zeros, as Li et
    /// al.'s default. Returns a new tensor.
    /// </summary>
    public static Tensor FilterNormalised(Tensor direction, Tensor weight)
    {
        using var scope = NewDisposeScope();
        if (weight.dim() < 2) return zeros_like(direction).MoveToOuterDisposeScope();
        var d = direction.flatten(1);
        var dNorm = d.norm(1, keepdim: true);
        var wNorm = weight.flatten(1).norm(1, keepdim: true);
        var scaled = where(dNorm > 0, d * wNorm / dNorm.clamp_min(1e-30), zeros_like(d));
        return scaled.reshape(direction.shape).MoveToOuterDisposeScope();
    }

    /// <summary>One standard normal draw per parameter of <paramref name="network"/>, in its parameter order (CPU, the parameter's dtype).</summary>
    public static List<Tensor> RawDirection(nn.Module<Tensor, Tensor> network, Generator generator) =>
        network.parameters().Select(p => randn(p.shape, dtype: p.dtype, generator: generator)).ToList();

    /// <summary>
    /// The raw direction <paramref name="raw"/> filter-normalised against <paramref name="network"/>'s parameters (on
    /// their device). A weight with a mask buffer "NAME_mask" (a pruned child) is normalised against θ ⊙ M with the
    /// direction also multiplied by M, so the pruned entries stay zero and the norms count only the kept ones.
    /// </summary>
    public static List<Tensor> Normalised(nn.Module<Tensor, Tensor> network, IReadOnlyList<Tensor> raw)
    {
        var masks = network.named_buffers().Where(b => b.name.EndsWith("_mask", StringComparison.Ordinal)).ToDictionary(b => b.name[..^5], b => b.buffer);
        var result = new List<Tensor>();
        foreach (var ((name, parameter), d) in network.named_parameters().Zip(raw))
        {
            using var scope = NewDisposeScope();
            var theta = parameter.detach();
            var direction = d.to(parameter.device);
            if (masks.TryGetValue(name, out var mask))
            {
                theta = theta * mask;
                direction = direction * mask;
            }
            result.Add(FilterNormalised(direction, theta).MoveToOuterDisposeScope());
        }
        return result;
    }

    /// <summary>
    /// The loss surface L(θ + a·δ + b·η) for every a = <paramref name="coordinates"/>[c] (columns) and
    /// b = <paramref name="coordinates"/>[r] (rows): values[r][c] = <paramref name="loss"/>(network(inputs), labels). The
    /// network's parameters are set in place and put back exactly afterwards (also when the loss throws).
    /// </summary>
    public static double[][] Grid(nn.Module<Tensor, Tensor> network, IReadOnlyList<Tensor> delta, IReadOnlyList<Tensor> eta,
        Tensor inputs, Tensor labels, Func<Tensor, Tensor, Tensor> loss, double[] coordinates)
    {
        var parameters = network.parameters().ToList();
        List<Tensor> original;
        using (NewDisposeScope()) original = parameters.Select(p => p.detach().clone().MoveToOuterDisposeScope()).ToList();
        var values = new double[coordinates.Length][];
        try
        {
            using var noGrad = no_grad();
            for (int r = 0; r < coordinates.Length; r++)
            {
                values[r] = new double[coordinates.Length];
                for (int c = 0; c < coordinates.Length; c++)
                {
                    using var scope = NewDisposeScope();
                    for (int i = 0; i < parameters.Count; i++)
                        parameters[i].copy_(original[i] + coordinates[c] * delta[i] + coordinates[r] * eta[i]);
                    values[r][c] = loss(Logits(network, inputs), labels).ToDouble();
                }
            }
        }
        finally
        {
            using (no_grad())
            using (NewDisposeScope())
                for (int i = 0; i < parameters.Count; i++) parameters[i].copy_(original[i]);
            foreach (var o in original) o.Dispose();
        }
        return values;
    }

    /// <summary>
    /// The network's logits for <paramref name="inputs"/> [n, …] → [n, C], computed
    /// <see cref="EvaluationBatches.RowsFor(nn.Module{Tensor, Tensor}, long[])"/> rows at a time and concatenated (one
    /// batch of all rows at every grid point is ≈ 8× slower for LeNet-S); the loss then sees all rows at once, so any
    /// loss is computed exactly.
    /// </summary>
    public static Tensor Logits(nn.Module<Tensor, Tensor> network, Tensor inputs)
    {
        long n = inputs.shape[0], chunk = EvaluationBatches.RowsFor(network, inputs.shape[1..]);
        if (n <= chunk) return network.call(inputs);
        var parts = new List<Tensor>();
        try
        {
            for (long start = 0; start < n; start += chunk)
            {
                using var part = inputs.narrow(0, start, Math.Min(chunk, n - start));
                parts.Add(network.call(part));
            }
            return cat(parts, 0);
        }
        finally { foreach (var t in parts) t.Dispose(); }
    }

    /// <summary><paramref name="resolution"/> evenly spaced values span · (2i − (resolution − 1))/(resolution − 1) from −span to span (exactly 0 at the centre of an odd count; 0 alone when resolution is 1).</summary>
    public static double[] Coordinates(int resolution, double span) =>
        resolution == 1 ? [0.0] : [.. Enumerable.Range(0, resolution).Select(i => span * (2 * i - (resolution - 1)) / (resolution - 1))];
}
