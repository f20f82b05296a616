using SubnetworkEnsembles.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing;

/// <summary>
/// A small classifier built from <see cref="FakeWeight"/>s, for testing samplers, perturbations and optimisers without
/// the host: <see cref="Mlp"/> (x [N, F] → Linear → ReLU → Linear → logits [N, C]) or <see cref="ConvNet"/>
/// (x [N, C_in, S, S] → Conv2d 3×3, padding 1 → ReLU → flatten → Linear → logits [N, C]). Its forward pass uses each
/// weight's <see cref="FakeWeight.EffectiveWeight"/> (W ⊙ M, or a stochastic mask's draw in training), as the host's
/// masked layers do. Everything is drawn from a generator seeded with the model's seed, on the CPU.
/// </summary>
public sealed class MaskableModel : IDisposable
{
    private readonly List<FakeWeight> _weights;
    private readonly List<Parameter> _biases;
    private readonly bool _convolutional;

    private MaskableModel(long[] inputShape, int classes, List<FakeWeight> weights, List<Parameter> biases, bool convolutional)
    {
        InputShape = inputShape;
        Classes = classes;
        _weights = weights;
        _biases = biases;
        _convolutional = convolutional;
    }

    /// <summary>An MLP <paramref name="features"/> → <paramref name="hidden"/> → <paramref name="classes"/>; weights "hidden.weight" [H, F] and "output.weight" [C, H].</summary>
    public static MaskableModel Mlp(long features = 16, long hidden = 12, int classes = 4, long seed = 1)
    {
        using var g = new Generator((ulong)seed);
        var weights = new List<FakeWeight> { FakeWeight.Linear("hidden.weight", hidden, features, g), FakeWeight.Linear("output.weight", classes, hidden, g, isOutputLayer: true) };
        return new MaskableModel([features], classes, weights, [Bias(hidden, g), Bias(classes, g)], convolutional: false);
    }

    /// <summary>
    /// A convolutional network for images [<paramref name="channels"/>, <paramref name="size"/>, <paramref name="size"/>]:
    /// weights "conv.weight" [4, C_in, 3, 3] and "output.weight" [C, 4·S·S].
    /// </summary>
    public static MaskableModel ConvNet(long channels = 1, long size = 6, int classes = 4, long seed = 1)
    {
        using var g = new Generator((ulong)seed);
        const long filters = 4;
        var weights = new List<FakeWeight> { FakeWeight.Conv2d("conv.weight", filters, channels, 3, g), FakeWeight.Linear("output.weight", classes, filters * size * size, g, isOutputLayer: true) };
        return new MaskableModel([channels, size, size], classes, weights, [Bias(filters, g), Bias(classes, g)], convolutional: true);
    }

    private static Parameter Bias(long size, Generator g)
    {
        using var values = empty(size).uniform_(-0.1, 0.1, g);
        return new Parameter(values.clone(), requires_grad: true);
    }

    /// <summary>Shape of one input sample: [F] or [C, S, S].</summary>
    public long[] InputShape { get; }

    /// <summary>Number of classes C (the logits' width).</summary>
    public int Classes { get; }

    /// <summary>The maskable weights, in forward order (the last is the output layer).</summary>
    public IReadOnlyList<FakeWeight> Weights => _weights;

    /// <summary>The weights as the contracts see them (what a sampler or perturbation is given).</summary>
    public IReadOnlyList<IMaskableWeight> MaskableWeights => _weights;

    /// <summary>Every trainable parameter: the weights, then the biases (what an optimiser is given).</summary>
    public IReadOnlyList<Parameter> Parameters => [.. _weights.Select(w => w.Weight), .. _biases];

    /// <summary>Training mode: a weight with a <see cref="IMaskableWeight.StochasticMask"/> draws a fresh mask on every forward pass.</summary>
    public bool Training { get; set; }

    /// <summary>Logits [N, C] for inputs [N, …InputShape]; the result is owned by the caller.</summary>
    public Tensor Forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor hidden;
        using (var first = _weights[0].EffectiveWeight(Training))
            hidden = _convolutional ? nn.functional.conv2d(input, first, _biases[0], padding: [1, 1]) : nn.functional.linear(input, first, _biases[0]);
        var features = nn.functional.relu(hidden).flatten(1);
        using var output = _weights[1].EffectiveWeight(Training);
        return nn.functional.linear(features, output, _biases[1]).MoveToOuterDisposeScope();
    }

    /// <summary>Applies <see cref="FakeWeight.EnforceFrozenMask"/> to every weight (the host does it after each optimiser step).</summary>
    public void EnforceFrozenMasks()
    {
        foreach (var w in _weights) w.EnforceFrozenMask();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var w in _weights) w.Dispose();
        foreach (var b in _biases) b.Dispose();
    }
}
