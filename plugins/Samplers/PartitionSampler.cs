using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Samplers.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers;

/// <summary>Options of <see cref="PartitionSampler"/>.</summary>
public sealed class PartitionSamplerOptions : IValidatableOptions
{
    /// <summary>Number of partitions k ≥ 2; each child keeps 1/k of every layer (sparsity 1 − 1/k).</summary>
    public int K { get; init; } = 2;

    /// <summary>Partition single weights (connections) or whole neurons/filters (neurons).</summary>
    public Structure Structure { get; init; } = Structure.Connections;

    /// <summary>
    /// Repeat each partition once more in the set: [M₁ … M_k, M₁ … M_k] (set size 2k), for perturbations that make
    /// antithetic twins from one mask, such as mirrored-noise (dissertation ch. 4: W ± N ⊙ M, W ± N ⊙ (1 − M)).
    /// </summary>
    public bool Mirror { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (K < 2) yield return $"k: must be ≥ 2 (k = 2 gives a mask and its anti-mask), got {K}";
    }
}

/// <summary>
/// k-way Neural Partitioning (dissertation §3.2.2): every unit (weight, or neuron/filter) of every maskable layer is
/// assigned to exactly one of k children, so Σᵢ Mᵢ = 1 elementwise. Within a layer of n units, a uniformly random
/// permutation assigns position p to partition p mod k, so each child keeps ⌊n/k⌋ or ⌈n/k⌉ units (sparsity
/// 1 − 1/k to within one unit). n children with k-way partitioning are n/k independent partition sets.
/// </summary>
[Plugin("partition", PluginKind.Sampler, OptionsType = typeof(PartitionSamplerOptions),
    Description = "k-way Neural Partitioning: disjoint masks that cover every weight (or neuron) exactly once")]
public sealed class PartitionSampler(PartitionSamplerOptions options) : ISubnetworkSampler
{
    /// <inheritdoc />
    public int SetSize => options.Mirror ? 2 * options.K : options.K;

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator)
    {
        int k = options.K;
        var masks = Enumerable.Range(0, SetSize).Select(_ => new Dictionary<string, Tensor>()).ToArray();
        foreach (var w in weights)
        {
            long n = MaskShapes.Units(w, options.Structure);
            using var perm = randperm(n, generator: generator, device: CPU);
            using var part = empty(n, ScalarType.Int64, device: CPU);
            using var positions = arange(n, ScalarType.Int64, device: CPU).remainder_(k);
            part.index_put_(positions, perm);                     // part[perm[p]] = p mod k
            for (int i = 0; i < k; i++)
            {
                using var isMine = part.eq(i);
                masks[i][w.Name] = MaskShapes.Expand(isMine, w, options.Structure);
                if (options.Mirror) masks[k + i][w.Name] = masks[i][w.Name].clone();
            }
        }
        return masks.Select(m => new ChildMask(m)).ToArray();
    }
}
