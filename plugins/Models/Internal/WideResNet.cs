using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.Internal;

/// <summary>
/// WRN-d-k: conv3×3(C→16) → block1 (n <see cref="WideBasicBlock"/>s, 16k channels) → block2 (32k, first of stride 2) →
/// block3 (64k, first of stride 2) → bn1 → ReLU → global average pool → fc (64k → classes), n = (d − 4) / 6.
/// Input [N, C, H, W] → logits [N, classes]. Keys as the common PyTorch implementation: conv1, block1.layer.0.conv1,
/// block2.layer.0.convShortcut, bn1, fc.
/// </summary>
internal sealed class WideResNet : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // TorchSharp names submodules after their fields: they are the state-dict keys
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> block1;
    private readonly nn.Module<Tensor, Tensor> block2;
    private readonly nn.Module<Tensor, Tensor> block3;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly nn.Module<Tensor, Tensor> avgpool;
    private readonly nn.Module<Tensor, Tensor> fc;
#pragma warning restore IDE1006

    /// <summary>A WRN with n = <paramref name="blocksPerStage"/> and widening factor k = <paramref name="width"/>.</summary>
    public WideResNet(int blocksPerStage, int width, double dropout, long inputChannels, int classes, Generator generator) : base("WideResNet")
    {
        long[] channels = [16, 16 * width, 32 * width, 64 * width];
        conv1 = nn.Conv2d(inputChannels, channels[0], 3, stride: 1, padding: 1, bias: false);
        block1 = new NetworkBlock(channels[0], channels[1], blocksPerStage, 1, dropout, generator);
        block2 = new NetworkBlock(channels[1], channels[2], blocksPerStage, 2, dropout, generator);
        block3 = new NetworkBlock(channels[2], channels[3], blocksPerStage, 2, dropout, generator);
        bn1 = nn.BatchNorm2d(channels[3]);
        avgpool = nn.AdaptiveAvgPool2d(1);
        fc = nn.Linear(channels[3], classes);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var a = conv1.call(input);
        using var b = block1.call(a);
        using var c = block2.call(b);
        using var d = block3.call(c);
        using var e = bn1.call(d);
        using var f = nn.functional.relu(e);
        using var g = avgpool.call(f);
        using var h = g.flatten(1);
        return fc.call(h);
    }

    /// <summary>One stage: a Sequential <c>layer</c> of n blocks, the first changing channels and stride.</summary>
    private sealed class NetworkBlock : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006 // the state-dict key is block1.layer.0…
        private readonly nn.Module<Tensor, Tensor> layer;
#pragma warning restore IDE1006

        public NetworkBlock(long inChannels, long outChannels, int blocks, long stride, double dropout, Generator generator) : base("NetworkBlock")
        {
            layer = nn.Sequential(Enumerable.Range(0, blocks).Select(i =>
                (i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                 (nn.Module<Tensor, Tensor>)new WideBasicBlock(i == 0 ? inChannels : outChannels, outChannels, i == 0 ? stride : 1, dropout, generator))));
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => layer.call(input);
    }
}
