using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Perturbations.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Perturbations;

/// <summary>How the starting probability matrix P₀ of <see cref="RandomAnnealPerturbation"/> is drawn.</summary>
public enum ProbabilityInit
{
    /// <summary>P₀ ~ U(0, 1) elementwise.</summary>
    Uniform,
    /// <summary>Mixture of Gaussians: a Bernoulli(mixture_p) choice per entry between 𝒩(μ₁, σ₁²) and 𝒩(μ₂, σ₂²), clamped to [0, 1].</summary>
    Mixture,
}

/// <summary>Options of <see cref="RandomAnnealPerturbation"/>.</summary>
public sealed class RandomAnnealOptions : IValidatableOptions
{
    /// <summary>How P₀ is drawn.</summary>
    public ProbabilityInit Init { get; init; } = ProbabilityInit.Uniform;

    /// <summary>Mixture: probability of the first component.</summary>
    public double MixtureP { get; init; } = 0.5;

    /// <summary>Mixture: mean and standard deviation of the first component.</summary>
    public double Mu1 { get; init; } = 0.25;

    /// <summary>Mixture: standard deviation of the first component.</summary>
    public double Sigma1 { get; init; } = 0.1;

    /// <summary>Mixture: mean of the second component.</summary>
    public double Mu2 { get; init; } = 0.75;

    /// <summary>Mixture: standard deviation of the second component.</summary>
    public double Sigma2 { get; init; } = 0.1;

    /// <summary>
    /// Partitioned probability matrices: P₀ is drawn once per sampler set and member m of a 2-member set uses
    /// P₀ (m = 0) or 1 − P₀ (m = 1), so with sparsity ½ the two targets are disjoint and cover every weight.
    /// </summary>
    public bool Partitioned { get; init; }

    /// <summary>T_anneal in epochs.</summary>
    public double AnnealEpochs { get; init; } = 3;

    /// <summary>Annealing function: linear, cosine or exponential.</summary>
    public AnnealFunction Function { get; init; } = AnnealFunction.Cosine;

    /// <summary>Rate k of the exponential function.</summary>
    public double K { get; init; } = 5;

    /// <summary>Whether t advances per epoch or per step.</summary>
    public AnnealUnit Per { get; init; } = AnnealUnit.Epoch;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (MixtureP is < 0 or > 1 || double.IsNaN(MixtureP)) yield return $"mixture_p: must be in [0, 1], got {MixtureP}";
        if (Sigma1 < 0 || Sigma2 < 0) yield return "sigma1 and sigma2: must be ≥ 0";
        if (!(AnnealEpochs > 0)) yield return $"anneal_epochs: must be > 0, got {AnnealEpochs}";
        if (!(K > 0)) yield return $"k: must be > 0, got {K}";
    }
}

/// <summary>
/// Random annealing (dissertation ch. 6): a random probability matrix P₀ (uniform, or a mixture of Gaussians); entries whose P₀
/// falls below the layer's target sparsity s anneal to 0, the rest to 1 — target M = 1[P₀ ≥ s] — so the mean
/// activation starts near ½ whatever s. s is the sparsity of the sampler's mask for that layer (e.g. partition k = 2:
/// s = ½). Each training forward pass uses Bernoulli(P(t)); from T_anneal on, the mask is M.
/// </summary>
[Plugin("random-anneal", PluginKind.Perturbation, OptionsType = typeof(RandomAnnealOptions),
    Description = "Stochastic mask from a random probability matrix, annealed to its thresholded target (dissertation ch. 6)")]
public sealed class RandomAnnealPerturbation(RandomAnnealOptions options) : IPerturbation
{
    private readonly StochasticMasks _masks = new(options.Function, options.Per, options.AnnealEpochs, options.K);

    /// <inheritdoc />
    public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context)
    {
        if (options.Partitioned && context.SetSize != 2)
            throw new InvalidOperationException($"random-anneal with partitioned: true needs sets of 2 children (partition k: 2); the sampler's sets have {context.SetSize}");
        for (int i = 0; i < weights.Count; i++)
        {
            if (!mask.Masks.TryGetValue(weights[i].Name, out var m)) continue;
            double sparsity;
            using (var kept = m.mean()) sparsity = 1 - kept.ToDouble();
            var generator = options.Partitioned ? context.SetGenerator : context.Generator;
            using var drawn = Draw(weights[i].Weight.shape, generator);
            using var start = options.Partitioned && context.MemberInSet == 1 ? drawn.neg().add_(1) : drawn.alias();
            using var target = start.ge(sparsity).to_type(ScalarType.Float32);
            _masks.Install(weights[i], start, target, context, i);
        }
    }

    /// <inheritdoc />
    public void OnTuningStep(IReadOnlyList<IMaskableWeight> weights, TrainingProgress progress) => _masks.Step(weights, progress);

    /// <summary>The current probability matrix of a weight (for tests).</summary>
    public Tensor? Probabilities(IMaskableWeight weight) => _masks.Probabilities(weight);

    private Tensor Draw(long[] shape, Generator generator)
    {
        if (options.Init == ProbabilityInit.Uniform) return rand(shape, generator: generator, device: CPU);
        using var probability = full(shape, options.MixtureP, device: CPU);
        using var pick = bernoulli(probability, generator);
        using var first = randn(shape, generator: generator, device: CPU).mul_(options.Sigma1).add_(options.Mu1);
        using var second = randn(shape, generator: generator, device: CPU).mul_(options.Sigma2).add_(options.Mu2);
        return where(pick.eq(1), first, second).clamp_(0, 1);
    }
}
