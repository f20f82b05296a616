using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers;

/// <summary>
/// The whole network as the "subnetwork": M = 1 for every maskable weight (sparsity 0), one mask per child (set size 1).
/// For baselines whose members are not subnetworks — dense and snapshot ensembles, bagging, FGE — used with the
/// <c>identity</c> perturbation.
/// </summary>
[Plugin("full", PluginKind.Sampler, Description = "Every weight kept (M = 1): members that are whole networks, for baselines")]
public sealed class FullSampler : ISubnetworkSampler
{
    /// <inheritdoc />
    public int SetSize => 1;

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator) =>
        [new ChildMask(weights.ToDictionary(w => w.Name, w => ones_like(w.Weight, dtype: ScalarType.Float32)))];
}
