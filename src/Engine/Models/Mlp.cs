using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>
/// Multilayer perceptron: flatten → [MaskedLinear → ReLU (→ Dropout)] × len(hidden) → MaskedLinear (logits).
/// Input [N, …] with ∏ inputShape features, output [N, classes].
/// </summary>
public sealed class Mlp : MaskedNetwork
{
    private readonly nn.Module<Tensor, Tensor> layers;
    private readonly long _features;

    /// <summary>Builds the MLP, e.g. inputShape [1, 28, 28], hidden [512, 512], classes 10.</summary>
    public Mlp(long[] inputShape, IReadOnlyList<int> hidden, int classes, double dropout = 0) : base("Mlp")
    {
        InputShape = inputShape;
        Classes = classes;
        _features = inputShape.Aggregate(1L, (a, b) => a * b);
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
        long width = _features;
        for (int i = 0; i < hidden.Count; i++)
        {
            modules.Add(($"fc{i + 1}", new MaskedLinear(width, hidden[i])));
            modules.Add(($"relu{i + 1}", nn.ReLU()));
            if (dropout > 0) modules.Add(($"dropout{i + 1}", nn.Dropout(dropout)));
            width = hidden[i];
        }
        modules.Add(("out", new MaskedLinear(width, classes, isOutputLayer: true)));
        layers = nn.Sequential(modules);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override int Classes { get; }

    /// <inheritdoc />
    public override long[] InputShape { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => layers.call(input.reshape(-1, _features));
}
