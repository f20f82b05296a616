using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Perturbations;

/// <summary>
/// ξ = identity: the child keeps its starting weights unchanged and unmasked (Ŵ = W), so tuning alone makes it differ.
/// For baselines — snapshot ensembles, FGE, dense ensembles, bagging — whose members are trained networks, not
/// perturbed subnetworks.
/// </summary>
[Plugin("identity", PluginKind.Perturbation, Description = "No perturbation (Ŵ = W): members made by training alone, for baselines")]
public sealed class IdentityPerturbation : IPerturbation
{
    /// <inheritdoc />
    public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context) { }
}
