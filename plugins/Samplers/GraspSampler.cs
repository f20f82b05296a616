using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Samplers.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers;

/// <summary>Options of <see cref="GraspSampler"/>.</summary>
public sealed class GraspSamplerOptions : SaliencySamplerOptions
{
    /// <summary>Training batches the gradient g and the Hessian-gradient product H g are averaged over.</summary>
    public int Batches { get; init; } = 1;

    /// <inheritdoc />
    public override IEnumerable<string> Validate() =>
        base.Validate().Concat(Batches < 1 ? [$"batches: must be ≥ 1, got {Batches}"] : []);
}

/// <summary>
/// GraSP, gradient signal preservation (Wang et al., 2020): score s = −Ŵ ⊙ H g, where g = ∂L/∂Ŵ and H g is the
/// Hessian-gradient product of the mean cross-entropy L, both on the same training batches (averaged over
/// <c>batches</c>). Removing a weight with a large s reduces the gradient flow least (or increases it), so GraSP
/// removes the largest scores: the units kept are those with the smallest s.
/// </summary>
[Plugin("grasp", PluginKind.Sampler, OptionsType = typeof(GraspSamplerOptions),
    Description = "GraSP: keep the connections that preserve gradient flow, by −w · Hg (data-aware, Hessian-vector products)")]
public sealed class GraspSampler(GraspSamplerOptions options) : ISubnetworkSampler
{
    /// <inheritdoc />
    public int SetSize => options.SetSize;

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator) => throw DataAware.NeedsContext("grasp");

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator, SamplingContext context) =>
        DataAware.Scoped(() => Sample(weights, generator, context));

    private IReadOnlyList<ChildMask> Sample(IReadOnlyList<IMaskableWeight> weights, Generator generator, SamplingContext context)
    {
        var network = context.Network;
        var hg = DataAware.MeanOverBatches(options.Batches, () =>
        {
            using var batch = network.TrainingBatch(options.BatchSize, generator);
            var g = network.LossGradients(batch);
            try
            {
                return network.HessianVectorProduct(batch, g);
            }
            finally
            {
                DataAware.Dispose(g);
            }
        });
        var keepScores = new Dictionary<string, Tensor>();
        try
        {
            using (no_grad())
                foreach (var w in weights)
                {
                    using var effective = DataAware.Effective(w);
                    keepScores[w.Name] = effective.mul(hg[w.Name]);   // = −s: the smallest s ranks first
                }
            return SaliencyMasks.FromScores(weights, keepScores, options, generator);
        }
        finally
        {
            DataAware.Dispose(hg);
            DataAware.Dispose(keepScores);
        }
    }
}
