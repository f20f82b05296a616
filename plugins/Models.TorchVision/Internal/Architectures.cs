using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.TorchVision.Internal;

/// <summary>How torchvision initialises the Linear layers of an architecture family, re-drawn from the run's generator.</summary>
internal enum HeadInit
{
    /// <summary>PyTorch's default Linear initialisation (ResNet family, AlexNet).</summary>
    PyTorchDefault,
    /// <summary>W ~ 𝒩(0, 0.01²), b = 0 (VGG, MobileNetV2, GoogLeNet, Inception v3).</summary>
    Normal001,
}

/// <summary>An architecture of the TorchVision package: its constructor for a class count, and its head initialisation.</summary>
internal sealed record Architecture(Func<int, nn.Module<Tensor, Tensor>> Create, HeadInit HeadInit);

/// <summary>The architectures of TorchVision 0.107's <c>torchvision.models</c> that take a class count, by torchvision's name.</summary>
internal static class Architectures
{
    /// <summary>Every known architecture, by its torchvision name (e.g. resnet18).</summary>
    public static IReadOnlyDictionary<string, Architecture> Known { get; } = new SortedDictionary<string, Architecture>(StringComparer.Ordinal)
    {
        ["alexnet"] = new(c => torchvision.models.alexnet(c), HeadInit.PyTorchDefault),
        ["googlenet"] = new(c => torchvision.models.googlenet(c), HeadInit.Normal001),
        ["inception_v3"] = new(c => torchvision.models.inception_v3(c), HeadInit.Normal001),
        ["mobilenet_v2"] = new(c => torchvision.models.mobilenet_v2(c), HeadInit.Normal001),
        ["resnet18"] = new(c => torchvision.models.resnet18(c), HeadInit.PyTorchDefault),
        ["resnet34"] = new(c => torchvision.models.resnet34(c), HeadInit.PyTorchDefault),
        ["resnet50"] = new(c => torchvision.models.resnet50(c), HeadInit.PyTorchDefault),
        ["resnet101"] = new(c => torchvision.models.resnet101(c), HeadInit.PyTorchDefault),
        ["resnet152"] = new(c => torchvision.models.resnet152(c), HeadInit.PyTorchDefault),
        ["resnext50_32x4d"] = new(c => torchvision.models.resnext50_32x4d(c), HeadInit.PyTorchDefault),
        ["resnext101_32x8d"] = new(c => torchvision.models.resnext101_32x8d(c), HeadInit.PyTorchDefault),
        ["resnext101_64x4d"] = new(c => torchvision.models.resnext101_64x4d(c), HeadInit.PyTorchDefault),
        ["wide_resnet50_2"] = new(c => torchvision.models.wide_resnet50_2(c), HeadInit.PyTorchDefault),
        ["wide_resnet101_2"] = new(c => torchvision.models.wide_resnet101_2(c), HeadInit.PyTorchDefault),
        ["vgg11"] = new(c => torchvision.models.vgg11(c), HeadInit.Normal001),
        ["vgg11_bn"] = new(c => torchvision.models.vgg11_bn(c), HeadInit.Normal001),
        ["vgg13"] = new(c => torchvision.models.vgg13(c), HeadInit.Normal001),
        ["vgg13_bn"] = new(c => torchvision.models.vgg13_bn(c), HeadInit.Normal001),
        ["vgg16"] = new(c => torchvision.models.vgg16(c), HeadInit.Normal001),
        ["vgg16_bn"] = new(c => torchvision.models.vgg16_bn(c), HeadInit.Normal001),
        ["vgg19"] = new(c => torchvision.models.vgg19(c), HeadInit.Normal001),
        ["vgg19_bn"] = new(c => torchvision.models.vgg19_bn(c), HeadInit.Normal001),
    };
}
