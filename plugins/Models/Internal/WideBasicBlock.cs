using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.Internal;

/// <summary>
/// The pre-activation basic block of a Wide ResNet (Zagoruyko &amp; Komodakis 2016), named as the common PyTorch
/// implementation: o = ReLU(bn1(x)); y = conv2(dropout(ReLU(bn2(conv1(o))))) + shortcut, with 3×3 convolutions (no bias),
/// conv1 of stride s; shortcut = x when in = out channels, else convShortcut(o), a 1×1 conv of stride s.
/// Input [N, in, H, W] → output [N, out, ⌈H/s⌉, ⌈W/s⌉].
/// </summary>
internal sealed class WideBasicBlock : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // TorchSharp names submodules after their fields: they are the state-dict keys
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> bn2;
    private readonly nn.Module<Tensor, Tensor> dropout;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly nn.Module<Tensor, Tensor>? convShortcut;
#pragma warning restore IDE1006

    /// <summary>A block from <paramref name="inChannels"/> to <paramref name="outChannels"/>, dropout p drawn from <paramref name="generator"/>.</summary>
    public WideBasicBlock(long inChannels, long outChannels, long stride, double dropoutProbability, Generator generator) : base("WideBasicBlock")
    {
        bn1 = nn.BatchNorm2d(inChannels);
        conv1 = nn.Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(outChannels);
        dropout = new GeneratorDropout(dropoutProbability, generator);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, stride: 1, padding: 1, bias: false);
        if (stride != 1 || inChannels != outChannels) convShortcut = nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var a = bn1.call(input);
        using var activated = nn.functional.relu(a);
        using var b = conv1.call(activated);
        using var c = bn2.call(b);
        using var d = nn.functional.relu(c);
        using var e = dropout.call(d);
        using var f = conv2.call(e);
        using var shortcut = convShortcut is null ? input.alias() : convShortcut.call(activated);
        return f.add(shortcut);
    }
}
