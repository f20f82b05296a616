using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Models.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models;

/// <summary>Options of <see cref="VggModel"/>.</summary>
public sealed class VggOptions : IValidatableOptions
{
    /// <summary>Number of weighted layers: 11, 13, 16 or 19 (Simonyan &amp; Zisserman 2015, configurations A, B, D, E).</summary>
    public int Depth { get; set; } = 16;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!CifarVgg.Configurations.ContainsKey(Depth)) yield return $"depth: must be one of 11, 13, 16, 19, got {Depth}";
    }
}

/// <summary>
/// VGG-11/13/16/19 with BatchNorm, CIFAR style: torchvision's vgg*_bn <c>features</c> (conv3×3 + BN + ReLU blocks, each
/// followed by a 2×2 max-pool), global average pooling to 1×1 and a single Linear 512 → classes as <c>classifier</c>
/// (instead of ImageNet's 4096-wide head). A max-pool that would take a side below 1×1 is skipped (an identity at the
/// same index), so 28×28 inputs work: 28→14→7→3→1 and the fifth pool is skipped; 32×32 reaches 1×1 after the fifth.
/// Input [N, C, H, W] with C, H, W ≥ 1 → logits [N, classes]. VGG-16 has 14.7 M parameters for 10 classes.
/// Initialisation as torchvision's: convs Kaiming-normal (fan_out) with bias 0, BatchNorm 1 / 0, classifier
/// W ~ 𝒩(0, 0.01²) and b = 0, from the context's generator. Keys: features.0.weight (conv), features.1.* (BN), classifier.
/// </summary>
[Plugin("vgg", PluginKind.Model, OptionsType = typeof(VggOptions),
    Description = "VGG-11/13/16/19 with BatchNorm, CIFAR-style (global average pool, Linear 512 → classes)")]
public sealed class VggModel(VggOptions options) : IModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Build(ModelContext context)
    {
        var (channels, height, width) = ImageInput.Require($"vgg (depth {options.Depth})", context.InputShape, 1);
        var model = new CifarVgg(options.Depth, channels, height, width, context.Classes);
        ParameterInit.TorchVisionStyle(model, context.Generator, LinearInit.Normal001);
        return model;
    }
}
