using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers.Internal;

/// <summary>Plumbing shared by the data-aware samplers.</summary>
internal static class DataAware
{
    /// <summary>The error of a data-aware sampler called without the host's context.</summary>
    public static InvalidOperationException NeedsContext(string name) =>
        new($"{name} is data-aware: it needs the parent network and the run's data, given by the host through SampleSet(weights, generator, SamplingContext)");

    /// <summary>The weight the layer computes with, Ŵ = W ⊙ M (a new tensor).</summary>
    public static Tensor Effective(IMaskableWeight weight)
    {
        using var _ = no_grad();
        return weight.Weight.detach() * weight.Mask;
    }

    /// <summary>The element-wise mean of <paramref name="count"/> results of <paramref name="next"/> (each disposed once added).</summary>
    public static Dictionary<string, Tensor> MeanOverBatches(int count, Func<IReadOnlyDictionary<string, Tensor>> next) =>
        SumOverBatches(count, next, (_, g) => g, 1.0 / count);

    /// <summary>
    /// Σ over <paramref name="count"/> results of <paramref name="next"/> of <paramref name="term"/>(weight name, gradient), times
    /// <paramref name="scale"/>; <paramref name="term"/> must return a new tensor.
    /// </summary>
    public static Dictionary<string, Tensor> SumOverBatches(int count, Func<IReadOnlyDictionary<string, Tensor>> next, Func<string, Tensor, Tensor> term, double scale)
    {
        var sum = new Dictionary<string, Tensor>();
        for (int b = 0; b < count; b++)
        {
            var gradients = next();
            using (no_grad())
                foreach (var (name, g) in gradients)
                {
                    var t = term(name, g);
                    if (ReferenceEquals(t, g)) t = g.clone();
                    if (sum.TryGetValue(name, out var s)) { s.add_(t); t.Dispose(); }
                    else sum[name] = t;
                }
            Dispose(gradients);
        }
        foreach (var s in sum.Values) s.mul_(scale);
        return sum;
    }

    /// <summary>
    /// Runs <paramref name="sample"/> inside its own dispose scope and moves only the masks it returns out of it, so no
    /// temporary of the scoring (gradients, scores, sorted values) outlives the call.
    /// </summary>
    public static IReadOnlyList<ChildMask> Scoped(Func<IReadOnlyList<ChildMask>> sample)
    {
        using var scope = NewDisposeScope();
        var set = sample();
        foreach (var mask in set)
            foreach (var t in mask.Masks.Values) t.MoveToOuterDisposeScope();
        return set;
    }

    /// <summary>Disposes every tensor of <paramref name="tensors"/>.</summary>
    public static void Dispose(IReadOnlyDictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values) t.Dispose();
    }
}
