using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.TorchVision.Internal;

/// <summary>An architecture of the TorchVision package: its constructor for a class count, and its head initialisation.</summary>
internal sealed record Architecture(Func<int, nn.Module<Tensor, Tensor>> Create, LinearInit HeadInit);

/// <summary>The architectures of TorchVision 0.107's <c>torchvision.models</c> that take a class count, by torchvision's name.</summary>
internal static class Architectures
{
    /// <summary>Every known architecture, by its torchvision name (e.g. resnet18).</summary>
    public static IReadOnlyDictionary<string, Architecture> Known { get; } = new SortedDictionary<string, Architecture>(StringComparer.Ordinal)
    {
        ["alexnet"] = new(c => torchvision.models.alexnet(c), LinearInit.PyTorchDefault),
        ["googlenet"] = new(c => torchvision.models.googlenet(c), LinearInit.Normal001),
        ["inception_v3"] = new(c => torchvision.models.inception_v3(c), LinearInit.Normal001),
        ["mobilenet_v2"] = new(c => torchvision.models.mobilenet_v2(c), LinearInit.Normal001),
        ["resnet18"] = new(c => torchvision.models.resnet18(c), LinearInit.PyTorchDefault),
        ["resnet34"] = new(c => torchvision.models.resnet34(c), LinearInit.PyTorchDefault),
        ["resnet50"] = new(c => torchvision.models.resnet50(c), LinearInit.PyTorchDefault),
        ["resnet101"] = new(c => torchvision.models.resnet101(c), LinearInit.PyTorchDefault),
        ["resnet152"] = new(c => torchvision.models.resnet152(c), LinearInit.PyTorchDefault),
        ["resnext50_32x4d"] = new(c => torchvision.models.resnext50_32x4d(c), LinearInit.PyTorchDefault),
        ["resnext101_32x8d"] = new(c => torchvision.models.resnext101_32x8d(c), LinearInit.PyTorchDefault),
        ["resnext101_64x4d"] = new(c => torchvision.models.resnext101_64x4d(c), LinearInit.PyTorchDefault),
        ["wide_resnet50_2"] = new(c => torchvision.models.wide_resnet50_2(c), LinearInit.PyTorchDefault),
        ["wide_resnet101_2"] = new(c => torchvision.models.wide_resnet101_2(c), LinearInit.PyTorchDefault),
        ["vgg11"] = new(c => torchvision.models.vgg11(c), LinearInit.Normal001),
        ["vgg11_bn"] = new(c => torchvision.models.vgg11_bn(c), LinearInit.Normal001),
        ["vgg13"] = new(c => torchvision.models.vgg13(c), LinearInit.Normal001),
        ["vgg13_bn"] = new(c => torchvision.models.vgg13_bn(c), LinearInit.Normal001),
        ["vgg16"] = new(c => torchvision.models.vgg16(c), LinearInit.Normal001),
        ["vgg16_bn"] = new(c => torchvision.models.vgg16_bn(c), LinearInit.Normal001),
        ["vgg19"] = new(c => torchvision.models.vgg19(c), LinearInit.Normal001),
        ["vgg19_bn"] = new(c => torchvision.models.vgg19_bn(c), LinearInit.Normal001),
    };
}
