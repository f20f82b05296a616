namespace SubnetworkEnsembles.Engine.Models;

/// <summary>Architecture families the engine builds.</summary>
public enum ModelType
{
    /// <summary><see cref="Mlp"/>.</summary>
    Mlp,
    /// <summary><see cref="LeNet5"/>.</summary>
    Lenet,
}

/// <summary>The <c>model:</c> block of an experiment.</summary>
public sealed class ModelSpec
{
    /// <summary>Architecture: <c>mlp</c> or <c>lenet</c>.</summary>
    public ModelType Type { get; init; } = ModelType.Mlp;

    /// <summary>MLP hidden widths, e.g. [512, 512].</summary>
    public List<int> Hidden { get; init; } = [512, 512];

    /// <summary>LeNet-5 width preset: small (≈0.25 M), medium (≈1.0 M), large (≈4.0 M).</summary>
    public LeNetSize Size { get; init; } = LeNetSize.Small;

    /// <summary>Dropout probability after every hidden activation (MLP: each hidden layer; LeNet: the two hidden fully-connected layers); 0 = none.</summary>
    public double Dropout { get; init; }

    /// <summary>Problems with these settings, empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (Type == ModelType.Mlp && Hidden.Count == 0) yield return "hidden: give at least one hidden width, e.g. [512, 512]";
        foreach (var w in Hidden.Where(w => w <= 0)) yield return $"hidden: widths must be positive, got {w}";
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) yield return $"dropout: must be in [0, 1), got {Dropout}";
    }

    /// <summary>
    /// Builds a freshly initialised network: every layer, in forward order, draws its initial weights from
    /// <paramref name="generator"/> exactly as PyTorch's <c>reset_parameters</c> would from a global generator in the same
    /// state; the network then owns the generator and its dropout draws from it in training (<see cref="MaskedNetwork.Generator"/>).
    /// </summary>
    public MaskedNetwork Build(long[] inputShape, int classes, TorchSharp.torch.Generator generator) => Type switch
    {
        ModelType.Mlp => new Mlp(inputShape, Hidden, classes, Dropout, generator),
        _ => new LeNet5(Size, inputShape, classes, Dropout, generator),
    };
}
