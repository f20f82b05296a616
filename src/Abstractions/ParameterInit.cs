using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>How <see cref="ParameterInit.TorchVisionStyle"/> initialises Linear layers.</summary>
public enum LinearInit
{
    /// <summary>PyTorch's default (<see cref="ParameterInit.PyTorchDefault(Tensor, Tensor?, Generator)"/>), as torchvision's ResNet fc.</summary>
    PyTorchDefault,
    /// <summary>W ~ 𝒩(0, 0.01²), b = 0, as torchvision's VGG classifier.</summary>
    Normal001,
}

/// <summary>Initialisations drawn from an explicit generator, for model plugins.</summary>
public static class ParameterInit
{
    /// <summary>
    /// PyTorch's default initialisation of Linear/Conv2d (<c>reset_parameters</c>), drawn from <paramref name="generator"/>:
    /// W ~ Kaiming-uniform(a = √5), i.e. U(−b, b) with b = √(6 / ((1 + a²)·fan_in)) = 1/√fan_in, then the bias (when
    /// present) ~ U(−1/√fan_in, 1/√fan_in); fan_in = in·kh·kw (per group). Weight first, then bias, so a generator in the
    /// same state as torch's global one after <c>manual_seed(s)</c> gives bit for bit what PyTorch would.
    /// </summary>
    public static void PyTorchDefault(Tensor weight, Tensor? bias, Generator generator)
    {
        using var _ = no_grad();
        long fanIn = weight.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        // torch::nn::init::kaiming_uniform_ (LeakyReLU gain, fan_in) operation for operation, with a generator.
        double a = Math.Sqrt(5), gain = Math.Sqrt(2.0 / (1 + Math.Pow(a, 2))), std = gain / Math.Sqrt(fanIn);
        weight.uniform_(-Math.Sqrt(3) * std, Math.Sqrt(3) * std, generator);
        if (bias is not null)
        {
            double bound = 1 / Math.Sqrt(fanIn);
            bias.uniform_(-bound, bound, generator);
        }
    }

    /// <summary>
    /// Re-initialises every Linear and Conv2d of <paramref name="module"/> in module order with <see cref="PyTorchDefault(Tensor, Tensor?, Generator)"/>
    /// from <paramref name="generator"/>; BatchNorm weights are set to 1 and biases to 0 (PyTorch's defaults, no draw).
    /// </summary>
    public static void PyTorchDefault(nn.Module module, Generator generator)
    {
        using var _ = no_grad();
        foreach (var (_, m) in module.named_modules())
        {
            switch (m)
            {
                case Linear l: PyTorchDefault(l.weight, l.bias, generator); break;
                case Conv2d c: PyTorchDefault(c.weight, c.bias, generator); break;
                case BatchNorm2d b: b.weight?.fill_(1); b.bias?.zero_(); break;
                case BatchNorm1d b: b.weight?.fill_(1); b.bias?.zero_(); break;
            }
        }
    }

    /// <summary>
    /// Kaiming-normal (He et al. 2015) for ReLU networks, fan_out mode, as torchvision's ResNets use:
    /// W ~ 𝒩(0, 2 / fan_out), fan_out = out·kh·kw, drawn from <paramref name="generator"/>.
    /// </summary>
    public static void KaimingNormalFanOut(Tensor weight, Generator generator)
    {
        using var _ = no_grad();
        long fanOut = weight.shape[0] * weight.shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        weight.normal_(0, Math.Sqrt(2.0 / fanOut), generator);
    }

    /// <summary>
    /// The initialisation torchvision's ResNet and VGG apply after construction, in module order: every Conv2d weight ~
    /// Kaiming-normal, fan_out, ReLU gain (W ~ 𝒩(0, 2 / (out·kh·kw))), conv bias 0; every BatchNorm weight 1, bias 0;
    /// every Linear as <paramref name="linear"/> says. All draws come from <paramref name="generator"/>.
    /// </summary>
    public static void TorchVisionStyle(nn.Module module, Generator generator, LinearInit linear)
    {
        using var _ = no_grad();
        foreach (var (_, m) in module.named_modules())
        {
            switch (m)
            {
                case Conv2d conv:
                    KaimingNormalFanOut(conv.weight!, generator);
                    conv.bias?.zero_();
                    break;
                case BatchNorm2d bn: bn.weight?.fill_(1); bn.bias?.zero_(); break;
                case BatchNorm1d bn: bn.weight?.fill_(1); bn.bias?.zero_(); break;
                case Linear fc when linear == LinearInit.PyTorchDefault: PyTorchDefault(fc.weight!, fc.bias, generator); break;
                case Linear fc:
                    fc.weight!.normal_(0, 0.01, generator);
                    fc.bias?.zero_();
                    break;
            }
        }
    }
}
