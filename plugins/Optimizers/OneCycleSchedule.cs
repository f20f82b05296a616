using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Optimizers;

/// <summary>Options of <see cref="OneCycleSchedule"/> (defaults: the benchmark setting of dissertation ch. 5).</summary>
public sealed class OneCycleScheduleOptions : IValidatableOptions
{
    /// <summary>η_init, the learning rate at step 0.</summary>
    public double LrInit { get; init; } = 0.001;

    /// <summary>η_max, reached at the end of the warm-up.</summary>
    public double LrMax { get; init; } = 0.1;

    /// <summary>η_min, approached at the last step.</summary>
    public double LrMin { get; init; } = 1e-7;

    /// <summary>Fraction of all steps spent warming up (T_up = warmup · T).</summary>
    public double Warmup { get; init; } = 0.1;

    /// <summary>Cycle momentum inversely to the learning rate: SGD momentum (dissertation §5.2).</summary>
    public bool CycleMomentum { get; init; } = true;

    /// <summary>
    /// Cycle Adam/AdamW β₁ too (as fastai's one-cycle does). Default false: the dissertation cycles SGD momentum only,
    /// and an adaptive optimiser keeps its configured β₁.
    /// </summary>
    public bool CycleBeta1 { get; init; }

    /// <summary>Momentum at the start and end of the cycle (when η is low).</summary>
    public double MomentumMax { get; init; } = 0.95;

    /// <summary>Momentum at the peak learning rate.</summary>
    public double MomentumMin { get; init; } = 0.85;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(LrInit > 0)) yield return $"lr_init: must be > 0, got {LrInit}";
        if (!(LrMax > 0)) yield return $"lr_max: must be > 0, got {LrMax}";
        if (!(LrMin >= 0)) yield return $"lr_min: must be ≥ 0, got {LrMin}";
        if (LrMax < LrInit || LrMax < LrMin) yield return $"lr_max ({LrMax}) must be ≥ lr_init ({LrInit}) and ≥ lr_min ({LrMin})";
        if (Warmup is <= 0 or >= 1) yield return $"warmup: must be in (0, 1), got {Warmup}";
        if (MomentumMax is < 0 or >= 1 || MomentumMin is < 0 or >= 1) yield return "momentum_max and momentum_min: must be in [0, 1)";
        if (MomentumMin > MomentumMax) yield return $"momentum_min ({MomentumMin}) must be ≤ momentum_max ({MomentumMax})";
    }
}

/// <summary>
/// The one-cycle policy of dissertation ch. 5 (eqs. 5.4–5.5), evaluated per batch with T_up = ⌈warmup · T⌉, T_down = T − T_up:
/// warm-up (t &lt; T_up): η = η_init + ½(η_max − η_init)(1 − cos(π t / T_up));
/// cool-down (t' = t − T_up): η = η_min + ½(η_max − η_min)(1 + cos(π t' / T_down)). No annihilation phase.
/// Momentum follows the inverse cycle: m = m_max − ½(m_max − m_min)(1 − cos(π t / T_up)) going down, then
/// m = m_max − ½(m_max − m_min)(1 + cos(π t' / T_down)) coming back up. The momentum sets SGD momentum; Adam's β₁ only
/// with <c>cycle_beta1: true</c>.
/// </summary>
[Plugin("one-cycle", PluginKind.Schedule, OptionsType = typeof(OneCycleScheduleOptions),
    Description = "Cosine warm-up to lr_max, cosine cool-down to lr_min, inverse SGD momentum (dissertation ch. 5)")]
public sealed class OneCycleSchedule(OneCycleScheduleOptions options) : ISchedule
{
    /// <inheritdoc />
    public ScheduleValue At(long step, long totalSteps)
    {
        long up = Math.Max(1, (long)Math.Ceiling(options.Warmup * totalSteps));
        long down = Math.Max(1, totalSteps - up);
        double lr, rise;                       // rise ∈ [0, 1]: 0 at low lr, 1 at η_max
        if (step < up)
        {
            rise = 0.5 * (1 - Math.Cos(Math.PI * step / up));
            lr = options.LrInit + (options.LrMax - options.LrInit) * rise;
        }
        else
        {
            rise = 0.5 * (1 + Math.Cos(Math.PI * Math.Min(step - up, down) / down));
            lr = options.LrMin + (options.LrMax - options.LrMin) * rise;
        }
        double? momentum = options.CycleMomentum ? options.MomentumMax - (options.MomentumMax - options.MomentumMin) * rise : null;
        return new(lr, momentum) { AppliesToBeta1 = options.CycleMomentum && options.CycleBeta1 };
    }
}
