using SubnetworkEnsembles.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.Internal;

/// <summary>How the Linear layers of a network are initialised by <see cref="Initialization.TorchVisionStyle"/>.</summary>
internal enum LinearInit
{
    /// <summary>PyTorch's default (<see cref="ParameterInit.PyTorchDefault(Tensor, Tensor?, Generator)"/>), as torchvision's ResNet fc.</summary>
    PyTorchDefault,
    /// <summary>W ~ 𝒩(0, 0.01²), b = 0, as torchvision's VGG classifier.</summary>
    Normal001,
}

/// <summary>The initialisation torchvision's ResNet and VGG apply after construction, drawn from an explicit generator.</summary>
internal static class Initialization
{
    /// <summary>
    /// In module order: every Conv2d weight ~ Kaiming-normal, fan_out, ReLU gain (W ~ 𝒩(0, 2 / (out·kh·kw))), conv bias 0;
    /// every BatchNorm weight 1, bias 0; every Linear as <paramref name="linear"/> says. All draws come from <paramref name="generator"/>.
    /// </summary>
    public static void TorchVisionStyle(nn.Module module, Generator generator, LinearInit linear)
    {
        using var _ = no_grad();
        foreach (var (_, m) in module.named_modules())
        {
            switch (m)
            {
                case Conv2d conv:
                    ParameterInit.KaimingNormalFanOut(conv.weight!, generator);
                    conv.bias?.zero_();
                    break;
                case BatchNorm2d bn: bn.weight?.fill_(1); bn.bias?.zero_(); break;
                case BatchNorm1d bn: bn.weight?.fill_(1); bn.bias?.zero_(); break;
                case Linear fc when linear == LinearInit.PyTorchDefault: ParameterInit.PyTorchDefault(fc.weight!, fc.bias, generator); break;
                case Linear fc:
                    fc.weight!.normal_(0, 0.01, generator);
                    fc.bias?.zero_();
                    break;
            }
        }
    }
}
