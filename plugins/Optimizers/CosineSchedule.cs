using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Optimizers;

/// <summary>Options of <see cref="CosineSchedule"/>.</summary>
public sealed class CosineScheduleOptions : IValidatableOptions
{
    /// <summary>Starting (peak) learning rate.</summary>
    public double LrMax { get; init; } = 0.1;

    /// <summary>Final learning rate.</summary>
    public double LrMin { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(LrMax > 0)) yield return $"lr_max: must be > 0, got {LrMax}";
        if (!(LrMin >= 0) || LrMin > LrMax) yield return $"lr_min: must be in [0, lr_max], got {LrMin}";
    }
}

/// <summary>Cosine annealing: η(t) = lr_min + ½(lr_max − lr_min)(1 + cos(π t / T)).</summary>
[Plugin("cosine", PluginKind.Schedule, OptionsType = typeof(CosineScheduleOptions), Description = "Cosine decay from lr_max to lr_min")]
public sealed class CosineSchedule(CosineScheduleOptions options) : ISchedule
{
    /// <inheritdoc />
    public ScheduleValue At(long step, long totalSteps) =>
        new(options.LrMin + 0.5 * (options.LrMax - options.LrMin) * (1 + Math.Cos(Math.PI * Math.Min(step, totalSteps) / Math.Max(1, totalSteps))));
}
