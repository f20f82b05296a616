using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Optimizers;

/// <summary>Options of <see cref="TriangularSchedule"/> (defaults: FGE's α₁ = 0.05, α₂ = 0.0005 for SGD).</summary>
public sealed class TriangularScheduleOptions : IValidatableOptions
{
    /// <summary>α₂: the learning rate at both ends of the stage (where FGE collects its snapshot).</summary>
    public double LrMin { get; init; } = 0.0005;

    /// <summary>α₁: the learning rate in the middle of the stage.</summary>
    public double LrMax { get; init; } = 0.05;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(LrMin > 0)) yield return $"lr_min: must be > 0, got {LrMin}";
        if (!(LrMax >= LrMin)) yield return $"lr_max: must be ≥ lr_min ({LrMin}), got {LrMax}";
    }
}

/// <summary>
/// One triangular cycle per stage, the cycle of Fast Geometric Ensembling (Garipov et al., 2018) seen from one snapshot
/// to the next: with c = t / T ∈ [0, 1), η = α₂ + (α₁ − α₂)(1 − |2c − 1|) — linear from α₂ up to α₁ at mid-stage and
/// back down to α₂ at the end, where the member is taken. Chained children (children.start: previous) with this
/// schedule walk the low-loss path around the parent. Momentum is left to the optimiser.
/// </summary>
[Plugin("triangular", PluginKind.Schedule, OptionsType = typeof(TriangularScheduleOptions),
    Description = "Linear up to lr_max at mid-stage and back to lr_min (one FGE cycle)")]
public sealed class TriangularSchedule(TriangularScheduleOptions options) : ISchedule
{
    /// <inheritdoc />
    public ScheduleValue At(long step, long totalSteps)
    {
        double c = totalSteps <= 0 ? 0 : Math.Clamp((double)step / totalSteps, 0, 1);
        return new(options.LrMin + (options.LrMax - options.LrMin) * (1 - Math.Abs(2 * c - 1)));
    }
}
