using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Models.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models;

/// <summary>Options of <see cref="ResNetModel"/>.</summary>
public sealed class ResNetOptions : IValidatableOptions
{
    /// <summary>Number of weighted layers, 6n + 2 (n basic blocks per stage): 20, 32, 44, 56, 110 in the paper.</summary>
    public int Depth { get; set; } = 20;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Depth < 8 || (Depth - 2) % 6 != 0) yield return $"depth: must be 6n + 2 with n ≥ 1 (20, 32, 44, 56, 110), got {Depth}";
    }
}

/// <summary>
/// CIFAR-style ResNet-(6n+2) of He et al. 2016, §4.2: conv3×3(C→16) + BN + ReLU, three stages of n basic blocks with
/// 16, 32 and 64 channels (stages 2 and 3 start with stride 2), global average pooling and a Linear 64 → classes.
/// Where a block changes the shape, its shortcut is a projection (1×1 conv of stride 2 + BatchNorm, the paper's option B;
/// the paper's CIFAR runs used zero-padding, option A), so ResNet-20 has 272 474 parameters for 10 classes (option A: 0.27 M too).
/// Input [N, C, H, W] with any C ≥ 1 and H, W ≥ 1 (e.g. 1×28×28, 3×32×32) → logits [N, classes]. Initialisation as
/// torchvision's: convs Kaiming-normal (fan_out), BatchNorm weight 1 / bias 0, fc PyTorch's default, all from the
/// context's generator. State-dict keys as torchvision's ResNet: conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc.
/// </summary>
[Plugin("resnet", PluginKind.Model, OptionsType = typeof(ResNetOptions),
    Description = "CIFAR-style ResNet-(6n+2) (He et al. 2016): depth 20/32/44/56/110, widths 16/32/64, BatchNorm")]
public sealed class ResNetModel(ResNetOptions options) : IModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Build(ModelContext context)
    {
        var (channels, _, _) = ImageInput.Require($"resnet (depth {options.Depth})", context.InputShape, 1);
        var model = new CifarResNet((options.Depth - 2) / 6, channels, context.Classes);
        ParameterInit.TorchVisionStyle(model, context.Generator, LinearInit.PyTorchDefault);
        return model;
    }
}
