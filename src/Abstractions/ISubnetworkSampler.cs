using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// The masks of one child: weight name (<see cref="IMaskableWeight.Name"/>) → float32 0/1 tensor
/// of that weight's shape, on the CPU. 1 keeps/selects the weight. A weight absent from the map is not masked.
/// </summary>
public sealed class ChildMask(IReadOnlyDictionary<string, Tensor> masks) : IDisposable
{
    /// <summary>Masks by weight name.</summary>
    public IReadOnlyDictionary<string, Tensor> Masks { get; } = masks;

    /// <summary>Fraction of masked-out (zero) entries over all masked tensors: 1 − Σ M / Σ |M|.</summary>
    public double Sparsity
    {
        get
        {
            long total = 0; double kept = 0;
            foreach (var m in Masks.Values) { total += m.numel(); using var s = m.sum(); kept += s.ToDouble(); }
            return total == 0 ? 0 : 1 - kept / total;
        }
    }

    /// <inheritdoc />
    public void Dispose() { foreach (var m in Masks.Values) m.Dispose(); }
}

/// <summary>
/// ϕ — subnetwork sampling (dissertation §3.2). Draws the masks of a whole <em>set</em> of children at once,
/// so that antithetic schemes such as k-way Neural Partitioning (Σᵢ Mᵢ = 1 elementwise) are natural.
/// The host asks for set <c>s</c> with a generator seeded from (run seed, s): child <c>i</c> is member
/// <c>i mod SetSize</c> of set <c>i / SetSize</c>, so any child can be regenerated alone.
/// </summary>
public interface ISubnetworkSampler
{
    /// <summary>Children produced by one draw: 1 for independent masks, k for a k-way partition.</summary>
    int SetSize { get; }

    /// <summary>
    /// Draws <see cref="SetSize"/> child masks for <paramref name="weights"/> (only the ones to be masked;
    /// the host has already applied the maskable-layer selection). Must use only <paramref name="generator"/>
    /// for randomness. Returned tensors are owned by the caller.
    /// </summary>
    IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator);

    /// <summary>
    /// The overload the host calls: as <see cref="SampleSet(IReadOnlyList{IMaskableWeight}, Generator)"/>, with the parent
    /// network, the run's data and gradients in <paramref name="context"/> for data-aware criteria (SNIP, GraSP, SynFlow,
    /// Fisher). The default ignores the context. A data-aware sampler overrides this one and draws its batches with
    /// <paramref name="generator"/> (<see cref="INetworkAccess.TrainingBatch"/>); its two-argument overload may throw,
    /// saying it needs data. The host calls it for every set — in the child stage, in the trust-region search and
    /// with <c>tuning: none</c> alike — and checks the result: one mask per child of the set, each a 0/1 tensor of
    /// its weight's shape, named after weights in <paramref name="weights"/>.
    /// </summary>
    IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator, SamplingContext context) =>
        SampleSet(weights, generator);
}
