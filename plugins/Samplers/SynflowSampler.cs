using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Samplers.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers;

/// <summary>Options of <see cref="SynflowSampler"/>.</summary>
public sealed class SynflowSamplerOptions : SaliencySamplerOptions
{
    /// <summary>Pruning rounds n; round r keeps a fraction (1 − sparsity)^(r/n) (SynFlow uses 100).</summary>
    public int Iterations { get; init; } = 100;

    /// <inheritdoc />
    public override IEnumerable<string> Validate() =>
        base.Validate().Concat(Iterations < 1 ? [$"iterations: must be ≥ 1, got {Iterations}"] : []);
}

/// <summary>
/// SynFlow, iterative synaptic flow pruning (Tanaka et al., 2020), data-free: with every weight and every other
/// floating-point parameter and buffer of the parent replaced by its absolute value, R = 1ᵀ f(𝟙) for an all-ones input
/// of one sample, and the score is s = Ŵ ⊙ ∂R/∂Ŵ with Ŵ = |W| ⊙ M. Over n rounds the mask is tightened to keep
/// (1 − sparsity)^(r/n) of the units by score, recomputing the scores with the current mask each round, which avoids
/// layer collapse. The parent is restored exactly afterwards. With set_size k ≥ 2 one round scores the dense parent
/// and the units are dealt to k children by rank. Computed in float32 (the paper uses float64): very deep networks can
/// overflow R; use scope: layerwise there.
/// </summary>
[Plugin("synflow", PluginKind.Sampler, OptionsType = typeof(SynflowSamplerOptions),
    Description = "SynFlow: data-free iterative pruning by synaptic flow |w · ∂R/∂w|, avoiding layer collapse")]
public sealed class SynflowSampler(SynflowSamplerOptions options) : ISubnetworkSampler
{
    /// <inheritdoc />
    public int SetSize => options.SetSize;

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator) => throw DataAware.NeedsContext("synflow");

    /// <inheritdoc />
    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator, SamplingContext context) =>
        DataAware.Scoped(() => Sample(weights, generator, context));

    private IReadOnlyList<ChildMask> Sample(IReadOnlyList<IMaskableWeight> weights, Generator generator, SamplingContext context)
    {
        var network = context.Network;
        var saved = AbsoluteState(network.Network);
        var masks = weights.ToDictionary(w => w.Name, w => ones_like(w.Weight, dtype: ScalarType.Float32));
        try
        {
            using var input = ones([1, .. network.InputShape], device: network.Device);
            int rounds = options.SetSize == 1 ? options.Iterations : 1;
            IReadOnlyList<ChildMask>? result = null;
            for (int r = 1; r <= rounds; r++)
            {
                var scores = Scores(network, weights, masks, input);
                try
                {
                    var round = options.SetSize == 1
                        ? new FixedSparsity(options, 1 - Math.Pow(1 - options.Sparsity, (double)r / rounds))
                        : (SaliencySamplerOptions)options;
                    result?.ToList().ForEach(m => m.Dispose());
                    result = SaliencyMasks.FromScores(weights, scores, round, generator);
                    if (options.SetSize == 1)
                        foreach (var (name, mask) in result[0].Masks) masks[name].copy_(mask);
                }
                finally
                {
                    DataAware.Dispose(scores);
                }
            }
            return result!;
        }
        finally
        {
            DataAware.Dispose(masks);
            Restore(network.Network, saved);
        }
    }

    /// <summary>s = Ŵ ⊙ ∂R/∂Ŵ with Ŵ = |W| ⊙ mask and R = Σ f(𝟙).</summary>
    private static Dictionary<string, Tensor> Scores(INetworkAccess network, IReadOnlyList<IMaskableWeight> weights,
        Dictionary<string, Tensor> masks, Tensor input)
    {
        var inUse = new Dictionary<string, Tensor>();
        using (no_grad())
            foreach (var w in weights) inUse[w.Name] = w.Weight.detach().abs() * masks[w.Name].to(w.Weight.device);
        try
        {
            var gradients = network.Gradients(n => n.call(input).sum(), inUse);
            using (no_grad())
                foreach (var (name, g) in gradients) g.mul_(inUse[name]);
            return gradients.ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        finally
        {
            DataAware.Dispose(inUse);
        }
    }

    /// <summary>Replaces every floating-point parameter and buffer by its absolute value; returns the originals.</summary>
    private static List<(Tensor Target, Tensor Original)> AbsoluteState(nn.Module network)
    {
        using var _ = no_grad();
        var saved = new List<(Tensor, Tensor)>();
        foreach (var t in network.parameters().Cast<Tensor>().Concat(network.buffers()))
        {
            if (!t.is_floating_point()) continue;
            saved.Add((t, t.detach().clone()));
            t.abs_();
        }
        return saved;
    }

    private static void Restore(nn.Module network, List<(Tensor Target, Tensor Original)> saved)
    {
        using var _ = no_grad();
        foreach (var (target, original) in saved)
        {
            target.copy_(original);
            original.Dispose();
        }
    }

    /// <summary>The options with one round's sparsity.</summary>
    private sealed class FixedSparsity : SaliencySamplerOptions
    {
        public FixedSparsity(SaliencySamplerOptions options, double sparsity)
        {
            Sparsity = sparsity;
            Scope = options.Scope;
            Structure = options.Structure;
            SetSize = 1;
        }
    }
}
