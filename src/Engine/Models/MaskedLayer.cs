using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>
/// Base of layers whose weight is re-parametrised by a mask: the forward pass uses <c>weight ⊙ mask</c>
/// (PyTorch pruning's <c>weight_orig * weight_mask</c>). The mask is a registered buffer
/// (<c>weight_mask</c>), so it is saved and loaded with the model. While the mask is all ones the
/// multiplication is skipped, so an unmasked parent trains at the speed of a plain layer.
/// </summary>
public abstract class MaskedLayer : nn.Module<Tensor, Tensor>, IMaskableWeight
{
    private readonly Tensor _mask;
    private bool _maskIsAllOnes = true;

    /// <summary>
    /// Creates the layer's parameters; <paramref name="weightShape"/> is [out, in] or [out, in, kh, kw]. They are drawn as
    /// PyTorch's <c>reset_parameters</c> does (see <see cref="ResetParameters"/>) from <paramref name="generator"/>, or,
    /// when it is null, from torch's global generator (ad-hoc use only; the pipeline always passes one).
    /// </summary>
    protected MaskedLayer(string name, long[] weightShape, bool hasBias, bool isOutputLayer, Generator? generator) : base(name)
    {
        weight = nn.Parameter(empty(weightShape));
        bias = hasBias ? nn.Parameter(empty(weightShape[0])) : null;
        _mask = ones(weightShape);
        IsOutputLayer = isOutputLayer;
        register_parameter("weight", weight);
        if (bias is not null) register_parameter("bias", bias);
        register_buffer("weight_mask", _mask);
        ResetParameters(generator);
    }

    /// <summary>The weight W; shape [out, in] or [out, in, kh, kw].</summary>
    public Parameter weight { get; }

    /// <summary>The bias [out], or null. Never masked.</summary>
    public Parameter? bias { get; }

    /// <inheritdoc />
    public string Name { get; internal set; } = "";

    /// <inheritdoc />
    Parameter IMaskableWeight.Weight => weight;

    /// <inheritdoc />
    public bool IsOutputLayer { get; }

    /// <inheritdoc />
    public bool FreezeMasked { get; set; }

    /// <inheritdoc />
    public Func<Tensor>? StochasticMask { get; set; }

    /// <inheritdoc />
    public Tensor Mask
    {
        get => _mask;
        set
        {
            using var _ = no_grad();
            _mask.copy_(value);
            _maskIsAllOnes = _mask.eq(1).all().ToBoolean();
        }
    }

    /// <summary>Re-reads whether the mask is trivial (call after loading a state dict).</summary>
    public void RefreshMaskState() { using var _ = no_grad(); _maskIsAllOnes = _mask.eq(1).all().ToBoolean(); }

    /// <summary>Sets masked-out weights to exactly zero (W ← W ⊙ M) when <see cref="FreezeMasked"/> is set.</summary>
    public void EnforceFrozenMask()
    {
        if (!FreezeMasked || _maskIsAllOnes) return;
        using var _ = no_grad();
        weight.mul_(_mask);
    }

    /// <summary>The weight the forward pass computes with: W, W ⊙ M, or W ⊙ (fresh stochastic draw) in training.</summary>
    protected Tensor EffectiveWeight()
    {
        if (training && StochasticMask is not null) return weight * StochasticMask();
        return _maskIsAllOnes ? weight : weight * _mask;
    }

    /// <summary>
    /// PyTorch's default initialisation of Linear/Conv2d (<c>reset_parameters</c>), drawn from <paramref name="generator"/>
    /// (null: torch's global generator): W ~ Kaiming-uniform(a = √5), i.e. U(−b, b) with b = √(6 / ((1 + a²)·fan_in)) = 1/√fan_in,
    /// then the bias ~ U(−1/√fan_in, 1/√fan_in); fan_in = in·kh·kw. Weight first, then bias, so a generator in the same state as
    /// the global one after <c>manual_seed(s)</c> gives bit for bit the same parameters.
    /// </summary>
    public void ResetParameters(Generator? generator)
    {
        using var _ = no_grad();
        long fanIn = weight.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        // torch::nn::init::kaiming_uniform_ (LeakyReLU gain, fan_in) operation for operation: its bound with a generator.
        double a = Math.Sqrt(5), gain = Math.Sqrt(2.0 / (1 + Math.Pow(a, 2))), std = gain / Math.Sqrt(fanIn);
        weight.uniform_(-Math.Sqrt(3) * std, Math.Sqrt(3) * std, generator);
        if (bias is not null)
        {
            double bound = 1 / Math.Sqrt(fanIn);
            bias.uniform_(-bound, bound, generator);
        }
    }
}

/// <summary>
/// A fully connected layer y = x (W ⊙ M)ᵀ + b. Input [N, in], output [N, out], W [out, in]; initialised from
/// <paramref name="generator"/> (null: torch's global generator).
/// </summary>
public sealed class MaskedLinear(long inFeatures, long outFeatures, bool isOutputLayer = false, Generator? generator = null)
    : MaskedLayer("MaskedLinear", [outFeatures, inFeatures], hasBias: true, isOutputLayer, generator)
{
    /// <inheritdoc />
    public override Tensor forward(Tensor input) => nn.functional.linear(input, EffectiveWeight(), bias);
}

/// <summary>
/// A 2-D convolution with weight W ⊙ M. Input [N, in, H, W], W [out, in, k, k], stride 1; initialised from
/// <paramref name="generator"/> (null: torch's global generator).
/// </summary>
public sealed class MaskedConv2d(long inChannels, long outChannels, long kernelSize, long padding = 0, Generator? generator = null)
    : MaskedLayer("MaskedConv2d", [outChannels, inChannels, kernelSize, kernelSize], hasBias: true, isOutputLayer: false, generator)
{
    private readonly long[] _padding = [padding, padding];

    /// <inheritdoc />
    public override Tensor forward(Tensor input) =>
        nn.functional.conv2d(input, EffectiveWeight(), bias, padding: _padding);
}
