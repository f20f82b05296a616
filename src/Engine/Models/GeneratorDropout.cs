using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>
/// Dropout with probability <c>p</c> whose mask comes from the owning network's <see cref="MaskedNetwork.Generator"/>:
/// in training y = x ⊙ (m / (1 − p)) with m ~ Bernoulli(1 − p) of x's shape — PyTorch's CPU <c>dropout</c> step for step
/// (<c>empty_like(x).bernoulli_(1 − p)</c>, <c>div_(1 − p)</c>, multiply), so the same generator state gives the same mask
/// and the same numbers. The mask is drawn on the CPU and copied to x's device, so CPU and GPU runs share masks. In
/// evaluation, or with p = 0, y = x. With no generator (null) it falls back to torch's global generator.
/// </summary>
public sealed class GeneratorDropout : nn.Module<Tensor, Tensor>
{
    private readonly double _p;
    private readonly MaskedNetwork _owner;

    /// <summary>Dropout with probability <paramref name="p"/> ∈ [0, 1) drawing from <paramref name="owner"/>'s generator.</summary>
    public GeneratorDropout(double p, MaskedNetwork owner) : base("Dropout")
    {
        if (p is < 0 or >= 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout must be in [0, 1)");
        _p = p;
        _owner = owner;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (!training || _p == 0) return input.alias();
        var generator = _owner.Generator;
        if (generator is null) return nn.functional.dropout(input, _p, training: true);
        using var mask = empty(input.shape, input.dtype, CPU).bernoulli_(1 - _p, generator).div_(1 - _p);
        if (input.device_type == DeviceType.CPU) return input.mul(mask);
        using var onDevice = mask.to(input.device);
        return input.mul(onDevice);
    }
}
