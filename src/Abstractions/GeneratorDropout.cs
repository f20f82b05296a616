using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// Dropout with probability <c>p</c> whose masks come from an explicit generator (<see cref="ModelContext.Generator"/>):
/// in training y = x ⊙ (m / (1 − p)) with m ~ Bernoulli(1 − p) of x's shape — PyTorch's CPU <c>dropout</c> step for step
/// (<c>empty_like(x).bernoulli_(1 − p)</c>, <c>div_(1 − p)</c>, multiply), so the same generator state gives the same mask
/// and the same numbers. The mask is drawn on the CPU and copied to x's device, so CPU and GPU runs share masks. In
/// evaluation, or with p = 0, y = x. Use it instead of <c>nn.Dropout</c> (which draws from torch's global generator).
/// </summary>
public sealed class GeneratorDropout : nn.Module<Tensor, Tensor>
{
    private readonly double _p;
    private readonly Generator _generator;

    /// <summary>Dropout with probability <paramref name="p"/> ∈ [0, 1) drawing from <paramref name="generator"/>.</summary>
    public GeneratorDropout(double p, Generator generator) : base("Dropout")
    {
        if (p is < 0 or >= 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout must be in [0, 1)");
        _p = p;
        _generator = generator;
    }

    /// <summary>The dropout probability p.</summary>
    public double P => _p;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (!training || _p == 0) return input.alias();
        using var mask = empty(input.shape, input.dtype, CPU).bernoulli_(1 - _p, _generator).div_(1 - _p);
        if (input.device_type == DeviceType.CPU) return input.mul(mask);
        using var onDevice = mask.to(input.device);
        return input.mul(onDevice);
    }
}
