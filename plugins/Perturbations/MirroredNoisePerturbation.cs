using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Perturbations;

/// <summary>
/// Mirrored and partitioned noise (dissertation §4.2.2): one mask M and one noise draw N give four children
/// W + N ⊙ M, W + N ⊙ (1 − M), W − N ⊙ M, W − N ⊙ (1 − M), whose mean is exactly W. Use it with
/// <c>partition</c> and <c>mirror: true</c>, whose sets are [M₁ … M_k, M₁ … M_k]: N is drawn once per set (from the
/// set's shared generator), the first half of the set adds it and the second half subtracts it.
/// </summary>
[Plugin("mirrored-noise", PluginKind.Perturbation, OptionsType = typeof(NoisePerturbationOptions),
    Description = "Antithetic noise: W ± N ⊙ M over a mirrored partition set (children average back to the parent)")]
public sealed class MirroredNoisePerturbation(NoisePerturbationOptions options) : IPerturbation
{
    /// <inheritdoc />
    public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context)
    {
        if (context.SetSize % 2 != 0)
            throw new InvalidOperationException($"mirrored-noise needs sets of mirrored masks (an even set size, e.g. partition with mirror: true); the sampler's sets have {context.SetSize} members");
        double sign = context.MemberInSet < context.SetSize / 2 ? 1 : -1;
        // The set generator is fresh for every child of the set, so each member draws the same N in the same order.
        foreach (var w in weights)
        {
            using var noise = NoisePerturbation.Draw(w, options, context.SetGenerator);
            if (!mask.Masks.TryGetValue(w.Name, out var m)) continue;
            using var _ = no_grad();
            w.Weight.add_(noise.mul_(m), sign);
        }
    }
}
