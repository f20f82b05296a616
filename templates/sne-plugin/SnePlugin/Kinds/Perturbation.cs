using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SnePlugin;

/// <summary>Options of <see cref="SnePlugin"/>: the YAML keys beside <c>type: sne-plugin-name</c> (snake_case).</summary>
public sealed class SnePluginOptions : IValidatableOptions
{
    /// <summary>Standard deviation σ of the noise added to the selected weights, &gt; 0.</summary>
    public double Scale { get; init; } = 0.01;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(Scale > 0) || !double.IsFinite(Scale)) yield return $"scale: must be a finite value > 0, got {Scale}";
    }
}

/// <summary>
/// ξ, a perturbation: Ŵ = W + σ N ⊙ M with N ~ 𝒩(0, 1) drawn from the child's generator (on the CPU, so every device
/// makes the same child) and M the child's mask. Select it with <c>children: { perturbation: { type: sne-plugin-name } }</c>.
/// </summary>
[Plugin("sne-plugin-name", PluginKind.Perturbation, OptionsType = typeof(SnePluginOptions), Description = "Gaussian noise on the weights the mask selects")]
public sealed class SnePlugin(SnePluginOptions options) : IPerturbation
{
    /// <inheritdoc />
    public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var w in weights)
        {
            if (!mask.Masks.TryGetValue(w.Name, out var selected)) continue;
            var noise = randn(w.Weight.shape, generator: context.Generator).to(w.Weight.device);
            w.Weight.add_(noise.mul_(options.Scale).mul_(selected));
        }
    }
}
