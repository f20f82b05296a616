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

    /// <summary>Problems with these settings, empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (Type == ModelType.Mlp && Hidden.Count == 0) yield return "hidden: give at least one hidden width, e.g. [512, 512]";
        foreach (var w in Hidden.Where(w => w <= 0)) yield return $"hidden: widths must be positive, got {w}";
    }

    /// <summary>Builds a freshly initialised network (initialisation draws from torch's global generator).</summary>
    public MaskedNetwork Build(long[] inputShape, int classes) => Type switch
    {
        ModelType.Mlp => new Mlp(inputShape, Hidden, classes),
        _ => new LeNet5(Size, inputShape, classes),
    };
}
