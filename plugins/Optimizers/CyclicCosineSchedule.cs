using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Optimizers;

/// <summary>Options of <see cref="CyclicCosineSchedule"/>.</summary>
public sealed class CyclicCosineScheduleOptions : IValidatableOptions
{
    /// <summary>Number of cycles M (a snapshot ensemble takes one snapshot at the end of each).</summary>
    public int Cycles { get; init; } = 5;

    /// <summary>Learning rate at the start of every cycle.</summary>
    public double LrMax { get; init; } = 0.1;

    /// <summary>Learning rate approached at the end of every cycle.</summary>
    public double LrMin { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Cycles < 1) yield return $"cycles: must be ≥ 1, got {Cycles}";
        if (!(LrMax > 0)) yield return $"lr_max: must be > 0, got {LrMax}";
        if (!(LrMin >= 0) || LrMin > LrMax) yield return $"lr_min: must be in [0, lr_max], got {LrMin}";
    }
}

/// <summary>
/// Cyclic cosine with warm restarts (Snapshot Ensembles): with cycle length L = ⌈T / M⌉,
/// η(t) = lr_min + ½(lr_max − lr_min)(1 + cos(π (t mod L) / L)).
/// </summary>
[Plugin("cyclic-cosine", PluginKind.Schedule, OptionsType = typeof(CyclicCosineScheduleOptions),
    Description = "Cosine decay restarted every T/cycles steps (snapshot-style)")]
public sealed class CyclicCosineSchedule(CyclicCosineScheduleOptions options) : ISchedule
{
    /// <inheritdoc />
    public ScheduleValue At(long step, long totalSteps)
    {
        long cycle = Math.Max(1, (totalSteps + options.Cycles - 1) / options.Cycles);
        return new(options.LrMin + 0.5 * (options.LrMax - options.LrMin) * (1 + Math.Cos(Math.PI * (step % cycle) / cycle)));
    }
}
