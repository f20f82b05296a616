using System.Reflection;
using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>
/// Makes the weight of one <c>nn.Linear</c> or <c>nn.Conv2d</c> of any module tree maskable without changing the module
/// (the idea of PyTorch's <c>torch.nn.utils.prune</c>): a forward pre-hook hands the layer W ⊙ M (or, in training with a
/// <see cref="StochasticMask"/>, W ⊙ a fresh draw) in place of W for the duration of its forward pass, and a forward hook
/// puts W back, so gradients flow to W through the product and the state dict keeps W under its own name. The mask M is
/// a float32 0/1 tensor of W's shape and device, saved as <c>{layer}.weight_mask</c> by <see cref="MaskedNetwork"/>.
/// While the mask is all ones nothing is swapped, so an unmasked network runs at the speed of the plain module.
/// The hooks run only when the layer is invoked with <c>call()</c> (as TorchSharp's containers do).
/// </summary>
public sealed class MaskedLayer : IMaskableWeight, IDisposable
{
    private static readonly FieldInfo LinearWeight = WeightField(typeof(Linear));
    private static readonly FieldInfo ConvolutionWeight = WeightField(typeof(Convolution));

    private readonly FieldInfo _weightField;
    private Tensor _mask;
    private bool _maskIsAllOnes = true;
    private Parameter? _swappedOut;
    private Parameter? _effective;
    private bool _probing;

    /// <summary>Attaches a mask of ones to <paramref name="module"/> (a Linear or Conv2d) named <paramref name="name"/> ("path.weight").</summary>
    public MaskedLayer(nn.Module<Tensor, Tensor> module, string name)
    {
        Module = module;
        Name = name;
        _weightField = module switch
        {
            Linear => LinearWeight,
            Conv2d => ConvolutionWeight,
            _ => throw new ArgumentException($"{name}: only Linear and Conv2d weights are maskable, got {module.GetType().Name}", nameof(module)),
        };
        _mask = ones_like(weight);
        module.register_forward_pre_hook(BeforeForward);
        module.register_forward_hook(AfterForward);
    }

    /// <summary>The Linear or Conv2d module whose weight this masks.</summary>
    public nn.Module<Tensor, Tensor> Module { get; }

    /// <summary>The weight W; shape [out, in] or [out, in/groups, kh, kw].</summary>
    public Parameter weight => _swappedOut ?? (Parameter)_weightField.GetValue(Module)!;

    /// <summary>The bias [out], or null. Never masked.</summary>
    public Parameter? bias => Module switch { Linear l => l.bias, Conv2d c => c.bias, _ => null };

    /// <summary>"linear" or "conv2d".</summary>
    public string Kind => Module is Linear ? "linear" : "conv2d";

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    Parameter IMaskableWeight.Weight => weight;

    /// <inheritdoc />
    public bool IsOutputLayer { get; internal set; }

    /// <inheritdoc />
    public bool FreezeMasked { get; set; }

    /// <inheritdoc />
    public Func<Tensor>? StochasticMask { get; set; }

    /// <summary>
    /// Set by the trainer while it guarantees that a frozen layer's weight equals W ⊙ M at every forward pass (it zeroes the
    /// masked entries before the first step and after every step, <see cref="EnforceFrozenMask"/>): the layer then computes
    /// with W itself, without the W ⊙ M product and its backward (the trajectory of the kept weights is the same, bit for
    /// bit; the masked entries' gradients are not zero, which is why it is off while an after-step hook may read them).
    /// </summary>
    internal bool FrozenWeightIsMasked { get; set; }

    /// <inheritdoc />
    public Tensor Mask
    {
        get => _mask;
        set
        {
            using var _ = no_grad();
            _mask.copy_(value);
            RefreshMaskState();
        }
    }

    /// <summary>Re-reads whether the mask is trivial (call after loading a state dict).</summary>
    public void RefreshMaskState() { using var _ = no_grad(); using var allOnes = _mask.eq(1).all(); _maskIsAllOnes = allOnes.ToBoolean(); }

    /// <summary>Sets masked-out weights to exactly zero (W ← W ⊙ M) when <see cref="FreezeMasked"/> is set.</summary>
    public void EnforceFrozenMask()
    {
        if (!FreezeMasked || _maskIsAllOnes) return;
        using var _ = no_grad();
        weight.mul_(_mask);
    }

    /// <summary>
    /// Replaces the layer's weight W and its mask M by <paramref name="select"/>(W) and <paramref name="select"/>(M) (an
    /// index_select of rows or columns: <see cref="StructuredCompaction"/>), and its bias by its entries at
    /// <paramref name="keepBias"/> when given (rows removed). The module's size fields follow the new weight's shape.
    /// </summary>
    internal void Resize(Func<Tensor, Tensor> select, Tensor? keepBias)
    {
        using var _ = no_grad();
        var old = weight;
        var resized = new Parameter(select(old), old.requires_grad);
        var mask = select(_mask);
        switch (Module)
        {
            case Linear linear:
                linear.weight = resized;
                if (keepBias is not null && linear.bias is { } lb) linear.bias = new Parameter(lb.index_select(0, keepBias), lb.requires_grad);
                linear.in_features = resized.shape[1];
                linear.out_features = resized.shape[0];
                break;
            case Conv2d conv:
                conv.weight = resized;
                if (keepBias is not null && conv.bias is { } cb) conv.bias = new Parameter(cb.index_select(0, keepBias), cb.requires_grad);
                ConvolutionSizes(conv, resized.shape[1] * conv.groups, resized.shape[0]);
                break;
        }
        _mask.Dispose();
        _mask = mask;
        RefreshMaskState();
    }

    private static void ConvolutionSizes(Conv2d conv, long inChannels, long outChannels)
    {
        const BindingFlags flags = BindingFlags.NonPublic | BindingFlags.Instance;
        typeof(Convolution).GetField("<in_channels>k__BackingField", flags)?.SetValue(conv, inChannels);
        typeof(Convolution).GetField("input_channels", flags)?.SetValue(conv, inChannels);
        typeof(Convolution).GetField("<out_channels>k__BackingField", flags)?.SetValue(conv, outChannels);
    }

    /// <summary>Moves the mask to the weight's device and dtype (after the network moved).</summary>
    internal void FollowWeight()
    {
        var w = weight;
        if (_mask.device == w.device && _mask.dtype == w.dtype) return;
        var moved = _mask.to(w.dtype, w.device);
        _mask.Dispose();
        _mask = moved;
    }

    /// <summary>Releases the mask tensor (and a swapped-in weight product, if a forward pass was interrupted).</summary>
    public void Dispose()
    {
        _mask.Dispose();
        _effective?.Dispose();
    }

    /// <summary>
    /// A leaf tensor of the weight's shape the layer computes with in place of W ⊙ M while set (gradient probes: see
    /// <see cref="Training.NetworkAccess"/>). Owned by whoever sets it; null in normal use.
    /// </summary>
    internal Parameter? Probe { get; set; }

    private Tensor BeforeForward(nn.Module<Tensor, Tensor> module, Tensor input)
    {
        if (_effective is not null || _probing) Restore();   // a forward that threw left W swapped out: put it back first
        if (Probe is not null)
        {
            _swappedOut = (Parameter)_weightField.GetValue(module)!;
            _weightField.SetValue(module, Probe);
            _probing = true;
            return null!;
        }
        bool stochastic = StochasticMask is not null && module.training;
        if (!stochastic && _maskIsAllOnes) return null!;   // null: the input is unchanged
        // A frozen layer's weight is already W ⊙ M while the trainer keeps it so (FrozenWeightIsMasked): no product needed.
        if (!stochastic && FreezeMasked && FrozenWeightIsMasked) return null!;
        var original = (Parameter)_weightField.GetValue(module)!;
        var product = stochastic ? original * StochasticMask!() : original * _mask;
        _effective = new Parameter(product, product.requires_grad);
        _swappedOut = original;
        _weightField.SetValue(module, _effective);
        return null!;
    }

    private Tensor AfterForward(nn.Module<Tensor, Tensor> module, Tensor input, Tensor output)
    {
        if (_effective is not null || _probing) Restore();
        return output;
    }

    private void Restore()
    {
        _weightField.SetValue(Module, _swappedOut);
        _swappedOut = null;
        _probing = false;   // a probe belongs to whoever set it
        _effective?.Dispose();
        _effective = null;
    }

    private static FieldInfo WeightField(Type type) =>
        type.GetField("_weight", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new MissingFieldException($"this TorchSharp's {type.Name} has no '_weight' field; masking needs TorchSharp 0.107");
}
