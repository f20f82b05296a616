using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Samplers.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers;

/// <summary>Options of <see cref="FisherSampler"/>.</summary>
public sealed class FisherSamplerOptions : SaliencySamplerOptions
{
    /// <summary>Training batches B the empirical Fisher information is estimated from.</summary>
    public int Batches { get; init; } = 8;

    /// <summary>Rows per batch (smaller batches estimate the Fisher diagonal better, at more passes).</summary>
    public new int BatchSize { get; init; } = 32;

    /// <inheritdoc />
    public override IEnumerable<string> Validate() =>
        base.Validate().Concat(Batches < 1 ? [$"batches: must be ≥ 1, got {Batches}"] : []);
}

/// <summary>
/// Fisher pruning (Theis et al., 2018; LeCun et al.'s Optimal Brain Damage with the empirical Fisher in place of the
/// Hessian): the loss increase from removing Ŵ is ≈ ½ F Ŵ², with the Fisher diagonal F estimated from B mini-batch
/// gradients, F ≈ (1/B) Σ_b (∂L_b/∂Ŵ)². Score s = (1/2B) Σ_b (Ŵ ⊙ ∂L_b/∂Ŵ)²; keeps the units that cost most to remove.
/// (Per-sample gradients would estimate F without the batch averaging; mini-batches keep it to B backward passes.)
/// </summary>
[Plugin("fisher", PluginKind.Sampler, OptionsType = typeof(FisherSamplerOptions),
    Description = "Fisher pruning: keep the connections whose removal costs most, ½ F w² with the empirical Fisher (data-aware)")]
public sealed class FisherSampler(FisherSamplerOptions options) : ISubnetworkSampler
{
    /// <inheritdoc />
    public int SetSize => options.SetSize;

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator) => throw DataAware.NeedsContext("fisher");

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator, SamplingContext context) =>
        DataAware.Scoped(() => Sample(weights, generator, context));

    private IReadOnlyList<ChildMask> Sample(IReadOnlyList<IMaskableWeight> weights, Generator generator, SamplingContext context)
    {
        var network = context.Network;
        var effective = weights.ToDictionary(w => w.Name, DataAware.Effective);
        var scores = DataAware.SumOverBatches(options.Batches, () =>
        {
            using var batch = network.TrainingBatch(options.BatchSize, generator);
            return network.LossGradients(batch);
        }, (name, g) => g.mul(effective[name]).pow_(2), 0.5 / options.Batches);
        try
        {
            return SaliencyMasks.FromScores(weights, scores, options, generator);
        }
        finally
        {
            DataAware.Dispose(scores);
            DataAware.Dispose(effective);
        }
    }
}
