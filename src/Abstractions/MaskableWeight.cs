using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// One weight tensor of a network that ϕ may mask and ξ may perturb: a Linear weight
/// [out, in] or a Conv2d weight [out, in, kh, kw]. The layer that owns it computes with
/// <c>Weight ⊙ mask</c>, where the mask is <see cref="Mask"/> in evaluation and, during training,
/// a fresh draw of <see cref="StochasticMask"/> when one is set (dissertation ch. 6) or <see cref="Mask"/> otherwise.
/// Biases and normalisation parameters are never maskable.
/// </summary>
public interface IMaskableWeight
{
    /// <summary>Parameter name in the model's state dict, e.g. "layers.0.weight".</summary>
    string Name { get; }

    /// <summary>The trainable weight. Shape [out, in] or [out, in, kh, kw].</summary>
    TorchSharp.Modules.Parameter Weight { get; }

    /// <summary>True for the layer that produces the logits.</summary>
    bool IsOutputLayer { get; }

    /// <summary>
    /// The deterministic (target) mask, float32 0/1 of <see cref="Weight"/>'s shape and device; saved
    /// with the model. All ones means "not masked". Setting it copies the values into the layer's buffer.
    /// </summary>
    Tensor Mask { get; set; }

    /// <summary>
    /// When true, masked-out entries are frozen: the host re-applies <c>Weight ⊙ Mask</c> after every
    /// optimiser step, so neither momentum nor weight decay can revive a pruned weight.
    /// </summary>
    bool FreezeMasked { get; set; }

    /// <summary>
    /// Optional per-forward mask source used only in training mode: called on every forward pass, it
    /// returns a fresh float 0/1 mask of the weight's shape (e.g. a Bernoulli(P) draw). Null = use <see cref="Mask"/>.
    /// </summary>
    Func<Tensor>? StochasticMask { get; set; }
}
