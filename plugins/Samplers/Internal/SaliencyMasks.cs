using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers.Internal;

/// <summary>Options shared by the saliency samplers (snip, synflow, fisher, grasp): how scores become masks.</summary>
public abstract class SaliencySamplerOptions : IValidatableOptions
{
    /// <summary>Fraction of units removed, in [0, 1), with set_size 1. A k-way set keeps 1/k of the units in each child instead.</summary>
    public double Sparsity { get; init; } = 0.5;

    /// <summary>global: one ranking over all maskable layers (as the papers); layerwise: each layer loses the same fraction.</summary>
    public Scope Scope { get; init; } = Scope.Global;

    /// <summary>Score single weights (connections) or whole neurons/filters by the sum of their weights' scores (neurons).</summary>
    public Structure Structure { get; init; } = Structure.Connections;

    /// <summary>
    /// 1: each child keeps the top (1 − sparsity) units by saliency. k ≥ 2: a k-way partition by saliency rank — the
    /// units are ranked, and each run of k consecutive ranks is dealt to the k children in a random order, so Σᵢ Mᵢ = 1
    /// and every child gets a similar spread of important and unimportant units (sparsity 1 − 1/k).
    /// </summary>
    public int SetSize { get; init; } = 1;

    /// <summary>Rows per batch of training data the scores are computed on.</summary>
    public int BatchSize { get; init; } = 128;

    /// <inheritdoc />
    public virtual IEnumerable<string> Validate()
    {
        if (Sparsity is < 0 or >= 1 || double.IsNaN(Sparsity)) yield return $"sparsity: must be in [0, 1), got {Sparsity}";
        if (SetSize < 1) yield return $"set_size: must be ≥ 1, got {SetSize}";
        if (BatchSize < 1) yield return $"batch_size: must be ≥ 1, got {BatchSize}";
    }
}

/// <summary>Turns per-weight saliency scores into masks: top-k (global or layerwise) or a k-way partition by rank.</summary>
internal static class SaliencyMasks
{
    /// <summary>
    /// The masks of one set from <paramref name="scores"/> (weight name → float tensor of the weight's shape, larger =
    /// more important; any device). Ties keep the earlier unit (stable sort), so equal scores give reproducible masks.
    /// </summary>
    public static IReadOnlyList<ChildMask> FromScores(IReadOnlyList<IMaskableWeight> weights, IReadOnlyDictionary<string, Tensor> scores,
        SaliencySamplerOptions options, Generator generator)
    {
        var units = weights.Select(w => UnitScores(scores[w.Name], options.Structure)).ToList();
        try
        {
            var members = Enumerable.Range(0, options.SetSize).Select(_ => new Dictionary<string, Tensor>()).ToList();
            if (options.Scope == Scope.Global)
            {
                using var all = cat(units, 0);
                var assigned = Assign(all, options, generator);
                long offset = 0;
                for (int i = 0; i < weights.Count; i++)
                {
                    long n = units[i].shape[0];
                    for (int m = 0; m < members.Count; m++)
                    {
                        using var part = assigned[m].narrow(0, offset, n);
                        members[m][weights[i].Name] = MaskShapes.Expand(part, weights[i], options.Structure);
                    }
                    offset += n;
                }
                foreach (var a in assigned) a.Dispose();
            }
            else
            {
                for (int i = 0; i < weights.Count; i++)
                {
                    var assigned = Assign(units[i], options, generator);
                    for (int m = 0; m < members.Count; m++)
                    {
                        members[m][weights[i].Name] = MaskShapes.Expand(assigned[m], weights[i], options.Structure);
                        assigned[m].Dispose();
                    }
                }
            }
            return members.Select(m => new ChildMask(m)).ToList();
        }
        finally
        {
            foreach (var u in units) u.Dispose();
        }
    }

    /// <summary>Per-unit scores, flat float64 on the CPU: the weight's scores, or their sums over each row/filter.</summary>
    private static Tensor UnitScores(Tensor score, Structure structure)
    {
        using var cpu = score.detach().to(ScalarType.Float64, CPU);
        return structure == Structure.Connections ? cpu.flatten() : cpu.reshape(cpu.shape[0], -1).sum(1);
    }

    /// <summary>0/1 vectors over the units of <paramref name="unitScores"/>, one per member of the set.</summary>
    private static List<Tensor> Assign(Tensor unitScores, SaliencySamplerOptions options, Generator generator)
    {
        long n = unitScores.shape[0];
        var (sorted, order) = unitScores.sort(0, descending: true, stable: true);
        sorted.Dispose();
        using var _ = order;
        if (options.SetSize == 1)
        {
            long kept = Math.Max(1, (long)Math.Round((1 - options.Sparsity) * n));
            return [MaskShapes.KeepFirst(order, n, kept)];
        }
        int k = options.SetSize;
        long blocks = (n + k - 1) / k;
        // Rank p goes to member deal[p / k, p mod k], where each row of deal is a random permutation of 0 … k − 1.
        using var draws = rand([blocks, k], generator: generator, dtype: ScalarType.Float64, device: CPU);
        using var deal = draws.argsort(1);
        using var member = deal.flatten().narrow(0, 0, n);
        var result = new List<Tensor>(k);
        for (int m = 0; m < k; m++)
        {
            using var ranks = member.eq(m).nonzero().flatten();
            using var units = order.index_select(0, ranks);
            var mask = zeros(n, device: order.device);
            mask.index_fill_(0, units, 1f);
            result.Add(mask);
        }
        return result;
    }
}
