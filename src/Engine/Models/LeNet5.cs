using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>Width presets of <see cref="LeNet5"/> (SPEC §3: ≈ 0.25 M / 1.0 M / 4.0 M parameters).</summary>
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
/// LeNet-5 for 1×28×28 input: conv5×5(pad 2) → ReLU → maxpool2 → conv5×5 → ReLU → maxpool2 →
/// flatten [N, c2·5·5] → fc → ReLU → fc → ReLU → fc (logits [N, classes]).
/// Parameters = 25·c1 + c1 + 25·c1·c2 + c2 + 25·c2·f1 + f1 + f1·f2 + f2 + f2·C + C.
/// </summary>
public sealed class LeNet5 : MaskedNetwork
{
#pragma warning disable IDE1006 // TorchSharp names submodules after their fields: they are the state-dict prefixes (features.0.weight)
    private readonly nn.Module<Tensor, Tensor> features;
    private readonly nn.Module<Tensor, Tensor> classifier;
#pragma warning restore IDE1006

    /// <summary>
    /// Builds a LeNet-5 of the given width preset for [channels, 28, 28] input, initialising the layers in order from
    /// <paramref name="generator"/> (null: torch's global generator), which then becomes the network's
    /// <see cref="MaskedNetwork.Generator"/> (owned by it) for dropout.
    /// </summary>
    public LeNet5(LeNetSize size, long[] inputShape, int classes, double dropout = 0, Generator? generator = null) : base("LeNet5")
    {
        if (inputShape.Length != 3 || inputShape[1] != 28 || inputShape[2] != 28)
            throw new ArgumentException($"LeNet-5 expects input [C, 28, 28], got [{string.Join(", ", inputShape)}]");
        var (c1, c2, f1, f2) = size switch
        {
            LeNetSize.Small => (16, 32, 256, 128),
            LeNetSize.Medium => (32, 64, 512, 256),
            _ => (64, 128, 1024, 512),
        };
        InputShape = inputShape;
        Classes = classes;
        features = nn.Sequential(
            ("conv1", new MaskedConv2d(inputShape[0], c1, 5, padding: 2, generator)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
            ("conv2", new MaskedConv2d(c1, c2, 5, generator: generator)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)));
        var head = new List<(string, nn.Module<Tensor, Tensor>)> { ("fc1", new MaskedLinear(c2 * 25, f1, generator: generator)), ("relu3", nn.ReLU()) };
        if (dropout > 0) head.Add(("dropout3", new GeneratorDropout(dropout, this)));
        head.AddRange([("fc2", new MaskedLinear(f1, f2, generator: generator)), ("relu4", nn.ReLU())]);
        if (dropout > 0) head.Add(("dropout4", new GeneratorDropout(dropout, this)));
        head.Add(("out", new MaskedLinear(f2, classes, isOutputLayer: true, generator)));
        classifier = nn.Sequential(head);
        RegisterComponents();
        Generator = generator;
    }

    /// <inheritdoc />
    public override int Classes { get; }

    /// <inheritdoc />
    public override long[] InputShape { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var f = features.call(input);
        return classifier.call(f.flatten(1));
    }
}
