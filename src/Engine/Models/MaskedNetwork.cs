using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>
/// A classifier whose Linear/Conv weights are all <see cref="MaskedLayer"/>s. Input [N, …], output logits [N, C].
/// </summary>
public abstract class MaskedNetwork : nn.Module<Tensor, Tensor>
{
    private IReadOnlyList<MaskedLayer>? _layers;

    /// <summary>Creates the network; subclasses call <c>RegisterComponents()</c> after building layers.</summary>
    protected MaskedNetwork(string name) : base(name) { }

    /// <summary>
    /// The generator the network's stochastic layers (<see cref="GeneratorDropout"/>) draw from in training; null = torch's
    /// global generator. Set at construction to the generator the weights were initialised from, so the dropout masks continue
    /// its stream. The network disposes the one it holds when disposed; replacing it does not dispose the previous one.
    /// </summary>
    public Generator? Generator { get; set; }

    /// <summary>Number of classes C.</summary>
    public abstract int Classes { get; }

    /// <summary>Shape of one input sample, e.g. [1, 28, 28] or [2].</summary>
    public abstract long[] InputShape { get; }

    /// <summary>Every masked layer in forward order, named by its weight's state-dict key.</summary>
    public IReadOnlyList<MaskedLayer> MaskedLayers => _layers ??= FindLayers();

    /// <summary>The masked layers as the contracts see them.</summary>
    public IReadOnlyList<IMaskableWeight> MaskableWeights => MaskedLayers;

    /// <summary>Zeroes masked-out weights of every frozen layer (called after each optimiser step).</summary>
    public void EnforceFrozenMasks() { foreach (var l in MaskedLayers) l.EnforceFrozenMask(); }

    /// <summary>Total number of parameters (weights and biases).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>Parameters that are not masked out: Σ over layers of Σ M plus all biases.</summary>
    public long NonZeroParameterCount
    {
        get
        {
            long masked = MaskedLayers.Sum(l => l.weight.numel() - (long)l.Mask.sum().ToDouble());
            return ParameterCount - masked;
        }
    }

    /// <summary>Fraction of masked-out entries over all masked weights.</summary>
    public double Sparsity
    {
        get
        {
            long total = MaskedLayers.Sum(l => l.weight.numel());
            double kept = MaskedLayers.Sum(l => l.Mask.sum().ToDouble());
            return total == 0 ? 0 : 1 - kept / total;
        }
    }

    /// <summary>Loads weights and masks saved by <c>save(path)</c>, then refreshes mask state.</summary>
    public void LoadCheckpoint(string path)
    {
        load(path);
        foreach (var l in MaskedLayers) l.RefreshMaskState();
    }

    /// <summary>Copies weights and masks from <paramref name="source"/> (same architecture).</summary>
    public void CopyFrom(MaskedNetwork source)
    {
        using var _ = no_grad();
        var mine = state_dict();
        foreach (var (name, tensor) in source.state_dict()) mine[name].copy_(tensor);
        foreach (var l in MaskedLayers) l.RefreshMaskState();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Generator?.Dispose();
            Generator = null;
        }
        base.Dispose(disposing);
    }

    private List<MaskedLayer> FindLayers()
    {
        var layers = new List<MaskedLayer>();
        foreach (var (name, module) in named_modules())
        {
            if (module is MaskedLayer layer)
            {
                layer.Name = name + ".weight";
                layers.Add(layer);
            }
        }
        return layers;
    }
}
