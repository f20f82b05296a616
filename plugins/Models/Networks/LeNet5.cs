using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.Networks;

/// <summary>Width presets of <see cref="LeNet5"/> (dissertation ch. 5: ≈ 0.25 M / 1.0 M / 4.0 M parameters).</summary>
public enum LeNetSize
{
    /// <summary>conv 16, 32; fc 256, 128 — 252 k parameters.</summary>
    Small,
    /// <summary>conv 32, 64; fc 512, 256 — 1.01 M parameters.</summary>
    Medium,
    /// <summary>conv 64, 128; fc 1024, 512 — 4.01 M parameters.</summary>
    Large,
}

/// <summary>
/// LeNet-5 for [C, 28, 28] input: conv5×5(pad 2) → ReLU → maxpool2 → conv5×5 → ReLU → maxpool2 →
/// flatten [N, c2·5·5] → fc → ReLU → fc → ReLU → fc (logits [N, classes]).
/// Parameters = 25·C·c1 + c1 + 25·c1·c2 + c2 + 25·c2·f1 + f1 + f1·f2 + f2 + f2·K + K.
/// </summary>
public sealed class LeNet5 : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // TorchSharp names submodules after their fields: they are the state-dict prefixes (features.conv1.weight)
    private readonly nn.Module<Tensor, Tensor> features;
    private readonly nn.Module<Tensor, Tensor> classifier;
#pragma warning restore IDE1006

    /// <summary>
    /// Builds a LeNet-5 of the given width preset for [C, 28, 28] input, initialising the layers in order with PyTorch's
    /// defaults drawn from <paramref name="generator"/>; dropout (p &gt; 0, after the two hidden fully-connected layers) draws from it too.
    /// </summary>
    public LeNet5(LeNetSize size, long[] inputShape, int classes, double dropout, Generator generator) : base("LeNet5")
    {
        if (inputShape.Length != 3 || inputShape[1] != 28 || inputShape[2] != 28)
            throw new ArgumentException($"lenet needs images [C, 28, 28], the data has samples of shape [{string.Join(", ", inputShape)}]");
        var (c1, c2, f1, f2) = size switch
        {
            LeNetSize.Small => (16, 32, 256, 128),
            LeNetSize.Medium => (32, 64, 512, 256),
            _ => (64, 128, 1024, 512),
        };
        features = nn.Sequential(
            ("conv1", Conv(inputShape[0], c1, padding: 2, generator)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
            ("conv2", Conv(c1, c2, padding: 0, generator)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)));
        var head = new List<(string, nn.Module<Tensor, Tensor>)> { ("fc1", Mlp.Linear(c2 * 25, f1, generator)), ("relu3", nn.ReLU()) };
        if (dropout > 0) head.Add(("dropout3", new GeneratorDropout(dropout, generator)));
        head.AddRange([("fc2", Mlp.Linear(f1, f2, generator)), ("relu4", nn.ReLU())]);
        if (dropout > 0) head.Add(("dropout4", new GeneratorDropout(dropout, generator)));
        head.Add(("out", Mlp.Linear(f2, classes, generator)));
        classifier = nn.Sequential(head);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var f = features.call(input);
        using var flat = f.flatten(1);
        return classifier.call(flat);
    }

    private static TorchSharp.Modules.Conv2d Conv(long inChannels, long outChannels, long padding, Generator generator)
    {
        var layer = nn.Conv2d(inChannels, outChannels, 5, padding: padding);
        ParameterInit.PyTorchDefault(layer.weight, layer.bias, generator);
        return layer;
    }
}
