using SubnetworkEnsembles.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing;

/// <summary>
/// A maskable weight outside any network, with the host's semantics (<see cref="IMaskableWeight"/>): a Linear weight
/// [out, in] or a Conv2d weight [out, in, kh, kw], initialised as PyTorch does (U(−1/√fan_in, 1/√fan_in)) from a
/// generator. Setting <see cref="Mask"/> copies the values into the weight's own float32 0/1 buffer (a mask of another
/// shape is refused); <see cref="EffectiveWeight"/> is the weight a forward pass uses: W ⊙ M, or in training
/// W ⊙ (a fresh draw of <see cref="StochasticMask"/>) when one is set; <see cref="EnforceFrozenMask"/> is what the host
/// does after every optimiser step when <see cref="FreezeMasked"/> is set.
/// </summary>
public sealed class FakeWeight : IMaskableWeight, IDisposable
{
    private readonly Tensor _mask;

    /// <summary>A weight of <paramref name="shape"/> named <paramref name="name"/>, drawn from <paramref name="generator"/>, on <paramref name="device"/> (CPU by default).</summary>
    public FakeWeight(string name, long[] shape, Generator generator, bool isOutputLayer = false, Device? device = null)
    {
        if (shape.Length is not (2 or 4)) throw new ArgumentException($"{name}: a maskable weight is [out, in] or [out, in, kh, kw], got {shape.Length} dimensions", nameof(shape));
        Name = name;
        IsOutputLayer = isOutputLayer;
        using var values = empty(shape);
        ParameterInit.PyTorchDefault(values, null, generator);
        Weight = new Parameter(values.to(device ?? CPU), requires_grad: true);
        _mask = ones(shape, device: device ?? CPU);
    }

    /// <summary>The weight of a Linear layer: [<paramref name="outFeatures"/>, <paramref name="inFeatures"/>].</summary>
    public static FakeWeight Linear(string name, long outFeatures, long inFeatures, Generator generator, bool isOutputLayer = false) =>
        new(name, [outFeatures, inFeatures], generator, isOutputLayer);

    /// <summary>The weight of a Conv2d layer: [<paramref name="outChannels"/>, <paramref name="inChannels"/>, k, k].</summary>
    public static FakeWeight Conv2d(string name, long outChannels, long inChannels, long kernelSize, Generator generator) =>
        new(name, [outChannels, inChannels, kernelSize, kernelSize], generator);

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public Parameter Weight { get; }

    /// <inheritdoc />
    public bool IsOutputLayer { get; }

    /// <inheritdoc />
    public bool FreezeMasked { get; set; }

    /// <inheritdoc />
    public Func<Tensor>? StochasticMask { get; set; }

    /// <inheritdoc />
    public Tensor Mask
    {
        get => _mask;
        set
        {
            if (!value.shape.SequenceEqual(_mask.shape))
                throw new ArgumentException($"{Name}: a mask of shape [{string.Join(", ", value.shape)}] for a weight of shape [{string.Join(", ", _mask.shape)}]");
            using var _ = no_grad();
            _mask.copy_(value);
        }
    }

    /// <summary>
    /// A leaf tensor of the weight's shape that <see cref="EffectiveWeight"/> returns (as a view) instead of W ⊙ M while set:
    /// how <see cref="FakeNetworkAccess"/> takes gradients at the weight a layer computes with. Null in normal use.
    /// </summary>
    public Tensor? Probe { get; set; }

    /// <summary>
    /// The weight a forward pass computes with, owned by the caller: W ⊙ M; in training with a <see cref="StochasticMask"/>,
    /// W ⊙ S for a fresh draw S (which must be a 0/1 tensor of W's shape; it is disposed here). Gradients flow to W.
    /// </summary>
    public Tensor EffectiveWeight(bool training)
    {
        if (Probe is not null) return Probe.view(Probe.shape);   // a view: the caller's dispose leaves the probe alive
        if (!training || StochasticMask is null) return Weight.mul(_mask);
        using var draw = StochasticMask();
        if (!draw.shape.SequenceEqual(Weight.shape))
            throw new ArgumentException($"{Name}: the stochastic mask has shape [{string.Join(", ", draw.shape)}], the weight [{string.Join(", ", Weight.shape)}]");
        return Weight.mul(draw);
    }

    /// <summary>W ← W ⊙ M when <see cref="FreezeMasked"/> is set (the host does this after every optimiser step).</summary>
    public void EnforceFrozenMask()
    {
        if (!FreezeMasked) return;
        using var _ = no_grad();
        Weight.mul_(_mask);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _mask.Dispose();
        Weight.Dispose();
    }
}
