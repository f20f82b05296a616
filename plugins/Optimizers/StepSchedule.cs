using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Optimizers;

/// <summary>Options of <see cref="StepSchedule"/>.</summary>
public sealed class StepScheduleOptions : IValidatableOptions
{
    /// <summary>The initial learning rate.</summary>
    public double Lr { get; init; } = 0.1;

    /// <summary>Milestones as fractions of the run (e.g. [0.5, 0.75]); the rate is multiplied by gamma at each.</summary>
    public List<double> Milestones { get; init; } = [0.5, 0.75];

    /// <summary>Factor applied at every milestone.</summary>
    public double Gamma { get; init; } = 0.1;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(Lr > 0)) yield return $"lr: must be > 0, got {Lr}";
        if (!(Gamma > 0)) yield return $"gamma: must be > 0, got {Gamma}";
        if (Milestones.Any(m => m is <= 0 or >= 1)) yield return "milestones: every milestone must be a fraction in (0, 1)";
        if (!Milestones.SequenceEqual(Milestones.Order())) yield return "milestones: must be increasing";
    }
}

/// <summary>Step decay: η(t) = lr · gamma^(number of milestones m with t/T ≥ m).</summary>
[Plugin("step", PluginKind.Schedule, OptionsType = typeof(StepScheduleOptions), Description = "Multiply the rate by gamma at milestone fractions")]
public sealed class StepSchedule(StepScheduleOptions options) : ISchedule
{
    /// <inheritdoc />
    public ScheduleValue At(long step, long totalSteps)
    {
        double f = totalSteps <= 0 ? 1 : (double)step / totalSteps;
        int passed = options.Milestones.Count(m => f >= m);
        return new(options.Lr * Math.Pow(options.Gamma, passed));
    }
}
