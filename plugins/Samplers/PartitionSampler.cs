using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers;

/// <summary>Options of <see cref="PartitionSampler"/>.</summary>
public sealed class PartitionSamplerOptions : IValidatableOptions
{
    /// <summary>Number of partitions k ≥ 2; each child keeps 1/k of every layer (sparsity 1 − 1/k).</summary>
    public int K { get; init; } = 2;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (K < 2) yield return $"k: must be ≥ 2 (k = 2 gives a mask and its anti-mask), got {K}";
    }
}

/// <summary>
/// k-way Neural Partitioning (SPEC §1, §3.2.2): every weight of every maskable layer is assigned to exactly one of
/// k children, so Σᵢ Mᵢ = 1 elementwise. Within a layer of n weights, a uniformly random permutation assigns
/// position p to partition p mod k, so each child keeps ⌊n/k⌋ or ⌈n/k⌉ weights (sparsity 1 − 1/k to within one weight).
/// n children with k-way partitioning are n/k independent partition sets.
/// </summary>
[Plugin("partition", PluginKind.Sampler, OptionsType = typeof(PartitionSamplerOptions),
    Description = "k-way Neural Partitioning: disjoint masks that cover every weight exactly once")]
public sealed class PartitionSampler(PartitionSamplerOptions options) : ISubnetworkSampler
{
    /// <inheritdoc />
    public int SetSize => options.K;

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator)
    {
        int k = options.K;
        var masks = Enumerable.Range(0, k).Select(_ => new Dictionary<string, Tensor>()).ToArray();
        foreach (var w in weights)
        {
            long n = w.Weight.numel();
            using var perm = randperm(n, generator: generator);
            using var part = empty(n, ScalarType.Int64);
            using var positions = arange(n, ScalarType.Int64).remainder_(k);
            part.index_put_(positions, perm);                     // part[perm[p]] = p mod k
            for (int i = 0; i < k; i++)
            {
                using var isMine = part.eq(i);
                masks[i][w.Name] = isMine.to_type(ScalarType.Float32).reshape(w.Weight.shape);
            }
        }
        return masks.Select(m => new ChildMask(m)).ToArray();
    }
}
