using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Perturbations.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Perturbations;

/// <summary>Options of <see cref="TemperatureAnnealPerturbation"/>.</summary>
public sealed class TemperatureAnnealOptions : IValidatableOptions
{
    /// <summary>τ: the starting keep-probability of the weights outside the target mask (best ≈ 0.4–0.6).</summary>
    public double Tau { get; init; } = 0.5;

    /// <summary>T_anneal in epochs: from then on the mask is the deterministic target.</summary>
    public double AnnealEpochs { get; init; } = 3;

    /// <summary>Annealing function: linear, cosine or exponential.</summary>
    public AnnealFunction Function { get; init; } = AnnealFunction.Cosine;

    /// <summary>Rate k of the exponential function.</summary>
    public double K { get; init; } = 5;

    /// <summary>Whether t advances per epoch (the dissertation) or per step.</summary>
    public AnnealUnit Per { get; init; } = AnnealUnit.Epoch;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Tau is < 0 or > 1 || double.IsNaN(Tau)) yield return $"tau: must be in [0, 1], got {Tau}";
        if (!(AnnealEpochs > 0)) yield return $"anneal_epochs: must be > 0, got {AnnealEpochs}";
        if (!(K > 0)) yield return $"k: must be > 0, got {K}";
    }
}

/// <summary>
/// Temperature annealing (dissertation ch. 6, "reverse dropout"): with the sampled binary target M, entries with M = 1 have
/// P = 1 (always active) and entries with M = 0 start at P = τ and anneal to 0 over T_anneal epochs; each training
/// forward pass uses Bernoulli(P). From T_anneal on (and always at evaluation) the mask is M.
/// </summary>
[Plugin("temperature-anneal", PluginKind.Perturbation, OptionsType = typeof(TemperatureAnnealOptions),
    Description = "Stochastic mask: pruned-to-be weights active with probability τ, annealed to 0 (dissertation ch. 6)")]
public sealed class TemperatureAnnealPerturbation(TemperatureAnnealOptions options) : IPerturbation
{
    private readonly StochasticMasks _masks = new(options.Function, options.Per, options.AnnealEpochs, options.K);

    /// <inheritdoc />
    public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context)
    {
        for (int i = 0; i < weights.Count; i++)
        {
            if (!mask.Masks.TryGetValue(weights[i].Name, out var m)) continue;
            using var start = m.add(m.neg().add(1).mul(options.Tau));     // M + (1 − M)·τ
            _masks.Install(weights[i], start, m, context, i);
        }
    }

    /// <inheritdoc />
    public void OnTuningStep(IReadOnlyList<IMaskableWeight> weights, TrainingProgress progress) => _masks.Step(weights, progress);

    /// <summary>The current probability matrix of a weight (for tests).</summary>
    public Tensor? Probabilities(IMaskableWeight weight) => _masks.Probabilities(weight);
}
