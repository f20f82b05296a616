using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Samplers.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers;

/// <summary>Options of <see cref="SnipSampler"/>.</summary>
public sealed class SnipSamplerOptions : SaliencySamplerOptions
{
    /// <summary>Training batches whose loss gradients are averaged before scoring (SNIP uses one).</summary>
    public int Batches { get; init; } = 1;

    /// <inheritdoc />
    public override IEnumerable<string> Validate() =>
        base.Validate().Concat(Batches < 1 ? [$"batches: must be ≥ 1, got {Batches}"] : []);
}

/// <summary>
/// SNIP connection sensitivity (Lee et al., 2019): s = |Ŵ ⊙ ∂L/∂Ŵ|, with L the mean cross-entropy of the parent on
/// <c>batches</c> training batches of <c>batch_size</c> rows (gradients averaged) and Ŵ the parent's weights; keeps the
/// most sensitive units (see <see cref="SaliencySamplerOptions"/>). The batches are drawn with the set's generator, so
/// children of different sets see different rows.
/// </summary>
[Plugin("snip", PluginKind.Sampler, OptionsType = typeof(SnipSamplerOptions),
    Description = "SNIP: keep the connections with the largest |w · ∂L/∂w| on training batches (data-aware)")]
public sealed class SnipSampler(SnipSamplerOptions options) : ISubnetworkSampler
{
    /// <inheritdoc />
    public int SetSize => options.SetSize;

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator) => throw DataAware.NeedsContext("snip");

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator, SamplingContext context) =>
        DataAware.Scoped(() => Sample(weights, generator, context));

    private IReadOnlyList<ChildMask> Sample(IReadOnlyList<IMaskableWeight> weights, Generator generator, SamplingContext context)
    {
        var network = context.Network;
        var mean = DataAware.MeanOverBatches(options.Batches, () =>
        {
            using var batch = network.TrainingBatch(options.BatchSize, generator);
            return network.LossGradients(batch);
        });
        var scores = new Dictionary<string, Tensor>();
        try
        {
            using (no_grad())
                foreach (var w in weights)
                {
                    using var effective = DataAware.Effective(w);
                    scores[w.Name] = (effective * mean[w.Name]).abs_();
                }
            return SaliencyMasks.FromScores(weights, scores, options, generator);
        }
        finally
        {
            DataAware.Dispose(mean);
            DataAware.Dispose(scores);
        }
    }
}
