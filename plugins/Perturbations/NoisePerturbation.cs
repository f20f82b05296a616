using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Perturbations;

/// <summary>Options of <see cref="NoisePerturbation"/> (and of <see cref="MirroredNoisePerturbation"/>).</summary>
public sealed class NoisePerturbationOptions : IValidatableOptions
{
    /// <summary>μ, the mean of the noise.</summary>
    public double Mu { get; init; }

    /// <summary>σ, the mutation strength: absolute, or a multiple of each layer's weight standard deviation when <see cref="Relative"/>.</summary>
    public double Sigma { get; init; } = 0.01;

    /// <summary>Interpret σ (and μ) relative to std(W) of each layer.</summary>
    public bool Relative { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(Sigma >= 0)) yield return $"sigma: must be ≥ 0, got {Sigma}";
        if (!double.IsFinite(Mu)) yield return $"mu: must be a finite number, got {Mu}";
    }
}

/// <summary>
/// Noise (dissertation §3.2 ξ "Noise", ch. 4 Noisy SE): Ŵ = W + N ⊙ M with N ~ 𝒩(μ, σ²) elementwise (σ absolute or σ·std(W)).
/// Only entries with M = 1 change; the child stays dense (its layer mask is not set). N comes from the child's generator.
/// </summary>
[Plugin("noise", PluginKind.Perturbation, OptionsType = typeof(NoisePerturbationOptions),
    Description = "Additive Gaussian noise on the sampled subnetwork: W + N ⊙ M")]
public sealed class NoisePerturbation(NoisePerturbationOptions options) : IPerturbation
{
    /// <inheritdoc />
    public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context)
    {
        foreach (var w in weights)
        {
            if (!mask.Masks.TryGetValue(w.Name, out var m)) continue;
            using var noise = Draw(w, options, context.Generator);
            using var _ = no_grad();
            w.Weight.add_(noise.mul_(m));
        }
    }

    /// <summary>N ~ 𝒩(μ, σ²) of the weight's shape on its device (μ, σ scaled by std(W) when relative), drawn on the CPU.</summary>
    internal static Tensor Draw(IMaskableWeight w, NoisePerturbationOptions options, Generator generator)
    {
        double scale = 1;
        if (options.Relative)
        {
            using var std = w.Weight.detach().std();
            scale = std.ToDouble();
        }
        using var standard = randn(w.Weight.shape, generator: generator, device: CPU);
        return standard.mul(options.Sigma * scale).add_(options.Mu * scale).to(w.Weight.device);
    }
}
