using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Optimizers;

/// <summary>Options of <see cref="ConstantSchedule"/>.</summary>
public sealed class ConstantScheduleOptions : IValidatableOptions
{
    /// <summary>The learning rate η for every step.</summary>
    public double Lr { get; init; } = 0.001;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(Lr > 0)) yield return $"lr: must be > 0, got {Lr}";
    }
}

/// <summary>η(t) = lr for every step; momentum is left to the optimiser.</summary>
[Plugin("constant", PluginKind.Schedule, OptionsType = typeof(ConstantScheduleOptions), Description = "Fixed learning rate")]
public sealed class ConstantSchedule(ConstantScheduleOptions options) : ISchedule
{
    /// <inheritdoc />
    public ScheduleValue At(long step, long totalSteps) => new(options.Lr);
}
