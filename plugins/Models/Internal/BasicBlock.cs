using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.Internal;

/// <summary>
/// The basic residual block of ResNet (He et al. 2016), torchvision's <c>BasicBlock</c>:
/// y = ReLU(bn2(conv2(ReLU(bn1(conv1(x))))) + shortcut(x)), with 3×3 convolutions (no bias), the first of stride s.
/// shortcut(x) = x when the shape is kept; otherwise a projection <c>downsample</c> = 1×1 conv of stride s + BatchNorm
/// (option B of the paper). Input [N, in, H, W] → output [N, out, ⌈H/s⌉, ⌈W/s⌉].
/// </summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // TorchSharp names submodules after their fields: they are the state-dict keys (layer1.0.conv1.weight)
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly nn.Module<Tensor, Tensor> bn2;
    private readonly nn.Module<Tensor, Tensor>? downsample;
#pragma warning restore IDE1006

    /// <summary>A block from <paramref name="inChannels"/> to <paramref name="outChannels"/> with stride <paramref name="stride"/>.</summary>
    public BasicBlock(long inChannels, long outChannels, long stride) : base("BasicBlock")
    {
        conv1 = nn.Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(outChannels);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, stride: 1, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(outChannels);
        if (stride != 1 || inChannels != outChannels)
            downsample = nn.Sequential(("0", nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false)), ("1", nn.BatchNorm2d(outChannels)));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var a = conv1.call(input);
        using var b = bn1.call(a);
        using var c = nn.functional.relu(b);
        using var d = conv2.call(c);
        using var e = bn2.call(d);
        using var shortcut = downsample is null ? input.alias() : downsample.call(input);
        using var sum = e.add(shortcut);
        return nn.functional.relu(sum);
    }
}
