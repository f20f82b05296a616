using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>
/// Multilayer perceptron: flatten → [MaskedLinear → ReLU (→ Dropout)] × len(hidden) → MaskedLinear (logits).
/// Input [N, …] with ∏ inputShape features, output [N, classes].
/// </summary>
public sealed class Mlp : MaskedNetwork
{
#pragma warning disable IDE1006 // TorchSharp names submodules after their fields: "layers" is the state-dict prefix (layers.0.weight)
    private readonly nn.Module<Tensor, Tensor> layers;
#pragma warning restore IDE1006
    private readonly long _features;

    /// <summary>
    /// Builds the MLP, e.g. inputShape [1, 28, 28], hidden [512, 512], classes 10, initialising the layers in order from
    /// <paramref name="generator"/> (null: torch's global generator), which then becomes the network's
    /// <see cref="MaskedNetwork.Generator"/> (owned by it) for dropout.
    /// </summary>
    public Mlp(long[] inputShape, IReadOnlyList<int> hidden, int classes, double dropout = 0, Generator? generator = null) : base("Mlp")
    {
        InputShape = inputShape;
        Classes = classes;
        _features = inputShape.Aggregate(1L, (a, b) => a * b);
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
        long width = _features;
        for (int i = 0; i < hidden.Count; i++)
        {
            modules.Add(($"fc{i + 1}", new MaskedLinear(width, hidden[i], generator: generator)));
            modules.Add(($"relu{i + 1}", nn.ReLU()));
            if (dropout > 0) modules.Add(($"dropout{i + 1}", new GeneratorDropout(dropout, this)));
            width = hidden[i];
        }
        modules.Add(("out", new MaskedLinear(width, classes, isOutputLayer: true, generator)));
        layers = nn.Sequential(modules);
        RegisterComponents();
        Generator = generator;
    }

    /// <inheritdoc />
    public override int Classes { get; }

    /// <inheritdoc />
    public override long[] InputShape { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => layers.call(input.reshape(-1, _features));
}
