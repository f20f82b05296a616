using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Models.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models;

/// <summary>Options of <see cref="WideResNetModel"/>.</summary>
public sealed class WideResNetOptions : IValidatableOptions
{
    /// <summary>Number of weighted layers d = 6n + 4 (n blocks per stage), e.g. 16, 22, 28, 40.</summary>
    public int Depth { get; set; } = 16;

    /// <summary>Widening factor k: the stages have 16k, 32k and 64k channels (e.g. 4, 8, 10).</summary>
    public int Width { get; set; } = 4;

    /// <summary>Dropout probability between the two convolutions of each block, in [0, 1) (the paper's CIFAR runs: 0.3).</summary>
    public double Dropout { get; set; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Depth < 10 || (Depth - 4) % 6 != 0) yield return $"depth: must be 6n + 4 with n ≥ 1 (16, 22, 28, 40), got {Depth}";
        if (Width < 1) yield return $"width: must be ≥ 1 (e.g. 4, 10), got {Width}";
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) yield return $"dropout: must be in [0, 1), got {Dropout}";
    }
}

/// <summary>
/// Wide ResNet WRN-d-k (Zagoruyko &amp; Komodakis 2016): conv3×3(C→16), three stages of n = (d − 4) / 6 pre-activation
/// basic blocks with 16k, 32k and 64k channels (stages 2 and 3 start with stride 2; a 1×1 conv shortcut where the
/// shape changes), BN + ReLU, global average pooling, Linear 64k → classes; dropout between the convolutions of a block,
/// with masks drawn from the context's generator. WRN-28-10 has 36.5 M parameters for 10 classes, WRN-16-4 2.75 M.
/// Input [N, C, H, W] with any C ≥ 1 and H, W ≥ 1 → logits [N, classes]. Initialisation: convs Kaiming-normal (fan_out),
/// BatchNorm 1 / 0, fc PyTorch's default, from the generator. Keys: conv1, block1.layer.0.conv1, block2.layer.0.convShortcut, bn1, fc.
/// </summary>
[Plugin("wide-resnet", PluginKind.Model, OptionsType = typeof(WideResNetOptions),
    Description = "Wide ResNet WRN-d-k (Zagoruyko & Komodakis 2016): depth 6n+4, width k, dropout; WRN-28-10, WRN-16-4")]
public sealed class WideResNetModel(WideResNetOptions options) : IModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Build(ModelContext context)
    {
        var (channels, _, _) = ImageInput.Require($"wide-resnet (WRN-{options.Depth}-{options.Width})", context.InputShape, 1);
        var model = new WideResNet((options.Depth - 4) / 6, options.Width, options.Dropout, channels, context.Classes, context.Generator);
        ParameterInit.TorchVisionStyle(model, context.Generator, LinearInit.PyTorchDefault);
        return model;
    }
}
