using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Optimizers;

/// <summary>Options of <see cref="LinearDecaySchedule"/> (defaults: the parent schedule of dissertation ch. 5).</summary>
public sealed class LinearDecayScheduleOptions : IValidatableOptions
{
    /// <summary>Learning rate before the decay starts.</summary>
    public double LrMax { get; init; } = 0.1;

    /// <summary>Learning rate after the decay ends.</summary>
    public double LrEnd { get; init; } = 0.001;

    /// <summary>Fraction of the run at which the linear decay starts.</summary>
    public double DecayStart { get; init; } = 0.5;

    /// <summary>Fraction of the run at which the decay reaches <see cref="LrEnd"/>.</summary>
    public double DecayEnd { get; init; } = 0.9;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(LrMax > 0)) yield return $"lr_max: must be > 0, got {LrMax}";
        if (!(LrEnd > 0)) yield return $"lr_end: must be > 0, got {LrEnd}";
        if (DecayStart is < 0 or > 1) yield return $"decay_start: must be in [0, 1], got {DecayStart}";
        if (DecayEnd is < 0 or > 1) yield return $"decay_end: must be in [0, 1], got {DecayEnd}";
        if (DecayEnd < DecayStart) yield return $"decay_end ({DecayEnd}) must be ≥ decay_start ({DecayStart})";
    }
}

/// <summary>
/// The parent schedule of dissertation ch. 5, per step with f = t / T: η = lr_max for f &lt; decay_start; linear from lr_max to
/// lr_end over [decay_start, decay_end); η = lr_end afterwards. Defaults 0.1 → 0.001 over 50 % … 90 %.
/// </summary>
[Plugin("linear-decay", PluginKind.Schedule, OptionsType = typeof(LinearDecayScheduleOptions),
    Description = "Constant, then linear decay, then constant (dissertation ch. 5 parent schedule)")]
public sealed class LinearDecaySchedule(LinearDecayScheduleOptions options) : ISchedule
{
    /// <inheritdoc />
    public ScheduleValue At(long step, long totalSteps)
    {
        double f = totalSteps <= 0 ? 1 : (double)step / totalSteps;
        if (f < options.DecayStart) return new(options.LrMax);
        if (f >= options.DecayEnd) return new(options.LrEnd);
        double progress = (f - options.DecayStart) / (options.DecayEnd - options.DecayStart);
        return new(options.LrMax + (options.LrEnd - options.LrMax) * progress);
    }
}
