using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Perturbations;

/// <summary>
/// One-shot pruning (dissertation §3.2 ξ "Prune"): Ŵ = W ⊙ M, and the pruned entries stay exactly zero for the child's life:
/// the layer computes with W ⊙ M (no gradient reaches them) and the host re-applies W ⊙ M after every optimiser
/// step (<see cref="IMaskableWeight.FreezeMasked"/>), so neither momentum nor weight decay can revive them.
/// </summary>
[Plugin("prune", PluginKind.Perturbation, Description = "One-shot pruning to the sampled mask; pruned weights stay exactly zero")]
public sealed class PrunePerturbation : IPerturbation
{
    /// <inheritdoc />
    public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context)
    {
        foreach (var w in weights)
        {
            if (!mask.Masks.TryGetValue(w.Name, out var m)) continue;
            w.Mask = m;
            w.FreezeMasked = true;
            using var _ = no_grad();
            w.Weight.mul_(w.Mask);
        }
    }
}
