using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Models.Networks;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models;

/// <summary>Options of <see cref="MlpModel"/>.</summary>
public sealed class MlpOptions : IValidatableOptions
{
    /// <summary>Hidden widths, e.g. [512, 512].</summary>
    public List<int> Hidden { get; set; } = [512, 512];

    /// <summary>Dropout probability after every hidden activation; 0 = none.</summary>
    public double Dropout { get; set; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Hidden.Count == 0) yield return "hidden: give at least one hidden width, e.g. [512, 512]";
        foreach (var w in Hidden.Where(w => w <= 0)) yield return $"hidden: widths must be positive, got {w}";
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) yield return $"dropout: must be in [0, 1), got {Dropout}";
    }
}

/// <summary>A multilayer perceptron over the flattened input (<see cref="Mlp"/>).</summary>
[Plugin("mlp", PluginKind.Model, OptionsType = typeof(MlpOptions), Description = "multilayer perceptron: flatten → [Linear → ReLU (→ dropout)] × hidden → Linear")]
public sealed class MlpModel(MlpOptions options) : IModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Build(ModelContext context) =>
        new Mlp(context.InputShape, options.Hidden, context.Classes, options.Dropout, context.Generator);
}
