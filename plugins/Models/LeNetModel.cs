using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Models.Networks;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models;

/// <summary>Options of <see cref="LeNetModel"/>.</summary>
public sealed class LeNetOptions : IValidatableOptions
{
    /// <summary>Width preset: small (≈ 0.25 M), medium (≈ 1.0 M), large (≈ 4.0 M parameters).</summary>
    public LeNetSize Size { get; set; } = LeNetSize.Small;

    /// <summary>Dropout probability after the two hidden fully-connected layers; 0 = none.</summary>
    public double Dropout { get; set; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) yield return $"dropout: must be in [0, 1), got {Dropout}";
    }
}

/// <summary>LeNet-5 for 28×28 images (<see cref="LeNet5"/>).</summary>
[Plugin("lenet", PluginKind.Model, OptionsType = typeof(LeNetOptions), Description = "LeNet-5 for [C, 28, 28] images: two 5×5 convolutions, three fully-connected layers")]
public sealed class LeNetModel(LeNetOptions options) : IModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Build(ModelContext context) =>
        new LeNet5(options.Size, context.InputShape, context.Classes, options.Dropout, context.Generator);
}
