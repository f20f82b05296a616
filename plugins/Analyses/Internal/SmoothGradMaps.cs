using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Analyses.Internal;

/// <summary>How SmoothGrad turns one gradient into saliency: |g| (Smilkov et al.'s default) or g².</summary>
public enum GradientMagnitude
{
    /// <summary>|∂ logit / ∂x|.</summary>
    Absolute,
    /// <summary>(∂ logit / ∂x)².</summary>
    Squared,
}

/// <summary>Which class's logit SmoothGrad differentiates.</summary>
public enum SaliencyTarget
{
    /// <summary>The row's true label.</summary>
    Label,
    /// <summary>The member's own prediction on the clean row (argmax of its logits).</summary>
    Prediction,
}

/// <summary>
/// SmoothGrad (Smilkov et al. 2017): for inputs x [n, …shape] and a network f, the map
/// M(x) = (1/S) Σₛ φ(∂ f_y(x + εₛ) / ∂x) with εₛ ~ N(0, (noise · (max x − min x))²) per row (max and min over the row's
/// values), φ = |·| or (·)², y the label or the prediction; summed over channels for images [C, H, W] → [H, W] (a row of F features is a 1 × F map).
/// The noise εₛ is drawn once and shared by every network, so maps differ only by the networks.
/// </summary>
internal static class SmoothGradMaps
{
    /// <summary>Standard normal draws for <paramref name="samples"/> noisy copies of <paramref name="inputs"/>: [S, n, …shape] on the inputs' device.</summary>
    public static Tensor DrawNoise(Tensor inputs, int samples, Generator generator)
    {
        long[] shape = [samples, .. inputs.shape];
        using var cpu = randn(shape, dtype: ScalarType.Float32, generator: generator);
        return cpu.to(inputs.device);
    }

    /// <summary>
    /// The maps of one network: float32 [n, H, W] for image inputs [n, C, H, W] (summed over C), [n, 1, F] for rows [n, F],
    /// on the CPU. <paramref name="standardNoise"/> is [S, n, …shape] from <see cref="DrawNoise"/>.
    /// </summary>
    public static Tensor Compute(nn.Module<Tensor, Tensor> network, Tensor inputs, Tensor labels, Tensor standardNoise, double noise,
        GradientMagnitude magnitude, SaliencyTarget target)
    {
        using var scope = NewDisposeScope();
        long n = inputs.shape[0];
        var flat = inputs.reshape(n, -1);
        var range = flat.amax([1]).sub(flat.amin([1]));                       // [n]
        long[] perRow = [n, .. Enumerable.Repeat(1L, (int)inputs.dim() - 1)];
        var sigma = range.mul(noise).reshape(perRow);
        Tensor classes;
        using (no_grad())
            classes = target == SaliencyTarget.Label ? labels.to(inputs.device) : network.call(inputs).argmax(1);
        var total = zeros_like(inputs);
        for (long s = 0; s < standardNoise.shape[0]; s++)
        {
            using var step = NewDisposeScope();
            var noisy = inputs.detach().add(standardNoise[s].mul(sigma)).requires_grad_(true);
            var logits = network.call(noisy);
            var chosen = logits.gather(1, classes.reshape(n, 1)).sum();
            var gradient = autograd.grad([chosen], [noisy])[0].detach();
            total.add_(magnitude == GradientMagnitude.Absolute ? gradient.abs() : gradient.square());
        }
        var map = total.div_(standardNoise.shape[0]);
        var summed = map.dim() switch
        {
            4 => map.sum(1),                                                   // images [n, C, H, W] → [n, H, W]
            3 => map.sum(1).unsqueeze(1),                                      // [n, C, F] → [n, 1, F]
            _ => map.reshape(n, 1, -1),                                        // rows [n, F] → [n, 1, F]
        };
        return summed.cpu().MoveToOuterDisposeScope();
    }

    /// <summary>Each map min–max scaled to [0, 1]: (m − min m) / (max m − min m), all zeros where the map is constant. [n, H, W] → [n, H, W].</summary>
    public static Tensor Normalised(Tensor maps)
    {
        using var scope = NewDisposeScope();
        long n = maps.shape[0];
        var flat = maps.reshape(n, -1).to_type(ScalarType.Float64);
        var low = flat.amin([1], keepdim: true);
        var span = flat.amax([1], keepdim: true).sub(low);
        var scaled = flat.sub(low).div(span.clamp_min(1e-300)).where(span.gt(0), zeros_like(flat));
        return scaled.reshape(maps.shape).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Root-mean-square difference of two sets of normalised maps [n, H, W], averaged over the n maps:
    /// (1/n) Σᵢ sqrt(mean over pixels (aᵢ − bᵢ)²).
    /// </summary>
    public static double MeanRmse(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        long n = a.shape[0];
        return a.sub(b).reshape(n, -1).square().mean([1]).sqrt().mean().ToDouble();
    }
}
