using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.Networks;

/// <summary>
/// Multilayer perceptron: flatten → [Linear → ReLU (→ Dropout)] × len(hidden) → Linear (logits). Input [N, …] with
/// ∏ inputShape features, output [N, classes]. Submodules layers.fc1, layers.relu1, (layers.dropout1,) …, layers.out.
/// </summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // TorchSharp names submodules after their fields: "layers" is the state-dict prefix (layers.fc1.weight)
    private readonly nn.Module<Tensor, Tensor> layers;
#pragma warning restore IDE1006
    private readonly long _features;

    /// <summary>
    /// Builds the MLP, e.g. inputShape [1, 28, 28], hidden [512, 512], classes 10, initialising the layers in order with
    /// PyTorch's defaults drawn from <paramref name="generator"/>; dropout (p &gt; 0) draws its masks from it too.
    /// </summary>
    public Mlp(long[] inputShape, IReadOnlyList<int> hidden, int classes, double dropout, Generator generator) : base("Mlp")
    {
        _features = inputShape.Aggregate(1L, (a, b) => a * b);
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
        long width = _features;
        for (int i = 0; i < hidden.Count; i++)
        {
            modules.Add(($"fc{i + 1}", Linear(width, hidden[i], generator)));
            modules.Add(($"relu{i + 1}", nn.ReLU()));
            if (dropout > 0) modules.Add(($"dropout{i + 1}", new GeneratorDropout(dropout, generator)));
            width = hidden[i];
        }
        modules.Add(("out", Linear(width, classes, generator)));
        layers = nn.Sequential(modules);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var flat = input.reshape(-1, _features);
        return layers.call(flat);
    }

    /// <summary>nn.Linear(in, out) initialised as PyTorch does, from <paramref name="generator"/>.</summary>
    internal static TorchSharp.Modules.Linear Linear(long inFeatures, long outFeatures, Generator generator)
    {
        var layer = nn.Linear(inFeatures, outFeatures);
        ParameterInit.PyTorchDefault(layer.weight, layer.bias, generator);
        return layer;
    }
}
