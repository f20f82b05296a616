using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Models.TorchVision.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.TorchVision;

/// <summary>Options of <see cref="TorchVisionModel"/>.</summary>
public sealed class TorchVisionOptions : IValidatableOptions
{
    /// <summary>The torchvision name of the architecture, e.g. resnet18, vgg16_bn, mobilenet_v2 (see <see cref="KnownArchitectures"/>).</summary>
    public string Architecture { get; set; } = "resnet18";

    /// <summary>The architectures this plugin can build (TorchVision 0.107's <c>torchvision.models</c> that take a class count), sorted.</summary>
    public static IReadOnlyList<string> KnownArchitectures => [.. Architectures.Known.Keys];

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!Architectures.Known.ContainsKey(Architecture ?? ""))
            yield return $"architecture: must be one of {string.Join(", ", KnownArchitectures)}, got '{Architecture}'";
    }
}

/// <summary>
/// Any architecture of the TorchVision package (0.107) by its torchvision name, with its ImageNet layout (strides,
/// pooling, heads) and <c>num_classes</c> = the dataset's class count, so a PyTorch <c>state_dict</c> of the same
/// torchvision architecture loads with the same keys (conv1.weight, layer1.0.bn1.running_var, fc.bias, …) and gives the
/// same outputs. Inputs with C ≠ 3 channels: C = 1 is repeated to three channels (no parameters); other C go through a
/// 1×1 conv C → 3 registered as <c>input_adapter</c> (PyTorch's default initialisation); torchvision's keys stay as they are. The weights are re-drawn from
/// the context's generator as torchvision initialises them: convs Kaiming-normal (fan_out) with bias 0, BatchNorm 1 / 0,
/// Linear PyTorch's default (ResNet family, AlexNet) or 𝒩(0, 0.01²) with bias 0 (VGG, MobileNetV2; GoogLeNet and
/// Inception v3, whose truncated normals this replaces). The input size must survive the architecture's downsampling:
/// Build runs one zero image [1, C, H, W] in evaluation mode and throws <see cref="ArgumentException"/> if it fails or
/// the logits are not [1, classes] (e.g. inception_v3 needs H, W ≥ 75; ResNets and VGG take 32×32).
/// </summary>
[Plugin("torchvision", PluginKind.Model, OptionsType = typeof(TorchVisionOptions),
    Description = "Any TorchVision architecture by name (resnet18, vgg16_bn, mobilenet_v2, …), ImageNet layout, PyTorch state-dict keys")]
public sealed class TorchVisionModel(TorchVisionOptions options) : IModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Build(ModelContext context)
    {
        long[] shape = context.InputShape;
        string name = $"torchvision {options.Architecture}";
        if (shape.Length != 3 || shape.Any(s => s < 1))
            throw new ArgumentException($"{name} expects image input [C, H, W], got [{string.Join(", ", shape)}]", nameof(context));
        var architecture = Architectures.Known[options.Architecture];
        var network = architecture.Create(context.Classes);
        ParameterInit.TorchVisionStyle(network, context.Generator, architecture.HeadInit);
        nn.Module<Tensor, Tensor> model = shape[0] == 3 ? network : new ChannelAdapter(network, shape[0], context.Generator);
        CheckShape(model, shape, context.Classes, name);
        return model;
    }

    private static void CheckShape(nn.Module<Tensor, Tensor> model, long[] shape, int classes, string name)
    {
        bool training = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            using var probe = zeros([1, .. shape]);
            using var logits = model.call(probe);
            if (!logits.shape.SequenceEqual([1L, classes]))
                throw new ArgumentException($"{name} gives output [{string.Join(", ", logits.shape)}] for input [{string.Join(", ", shape)}], expected [1, {classes}]");
        }
        catch (Exception e) when (e is not ArgumentException)
        {
            throw new ArgumentException($"{name} cannot take input [{string.Join(", ", shape)}] (too small for its downsampling?): {e.Message}", e);
        }
        finally
        {
            model.train(training);
        }
    }
}
