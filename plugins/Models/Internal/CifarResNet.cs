using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.Internal;

/// <summary>
/// CIFAR-style ResNet of depth 6n + 2 (He et al. 2016, §4.2): conv3×3(C→16) → BN → ReLU → layer1 (n <see cref="BasicBlock"/>s,
/// 16 channels) → layer2 (n blocks, 32 channels, first of stride 2) → layer3 (n blocks, 64 channels, first of stride 2) →
/// global average pool → fc (64 → classes). Input [N, C, H, W] → logits [N, classes]. Module names follow torchvision
/// (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc).
/// </summary>
internal sealed class CifarResNet : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // TorchSharp names submodules after their fields: they are the state-dict keys
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly nn.Module<Tensor, Tensor> layer1;
    private readonly nn.Module<Tensor, Tensor> layer2;
    private readonly nn.Module<Tensor, Tensor> layer3;
    private readonly nn.Module<Tensor, Tensor> avgpool;
    private readonly nn.Module<Tensor, Tensor> fc;
#pragma warning restore IDE1006

    /// <summary>A ResNet with <paramref name="blocksPerStage"/> = n blocks per stage for <paramref name="inputChannels"/> channels.</summary>
    public CifarResNet(int blocksPerStage, long inputChannels, int classes) : base("ResNet")
    {
        conv1 = nn.Conv2d(inputChannels, 16, 3, stride: 1, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(16);
        layer1 = Stage(16, 16, blocksPerStage, 1);
        layer2 = Stage(16, 32, blocksPerStage, 2);
        layer3 = Stage(32, 64, blocksPerStage, 2);
        avgpool = nn.AdaptiveAvgPool2d(1);
        fc = nn.Linear(64, classes);
        RegisterComponents();
    }

    private static nn.Module<Tensor, Tensor> Stage(long inChannels, long outChannels, int blocks, long stride) =>
        nn.Sequential(Enumerable.Range(0, blocks).Select(i =>
            (i.ToString(System.Globalization.CultureInfo.InvariantCulture),
             (nn.Module<Tensor, Tensor>)new BasicBlock(i == 0 ? inChannels : outChannels, outChannels, i == 0 ? stride : 1))));

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var a = conv1.call(input);
        using var b = bn1.call(a);
        using var c = nn.functional.relu(b);
        using var d = layer1.call(c);
        using var e = layer2.call(d);
        using var f = layer3.call(e);
        using var g = avgpool.call(f);
        using var h = g.flatten(1);
        return fc.call(h);
    }
}
