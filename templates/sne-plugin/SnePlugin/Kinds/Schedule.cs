using SubnetworkEnsembles.Abstractions;

namespace SnePlugin;

/// <summary>Options of <see cref="SnePlugin"/>: the YAML keys beside <c>type: sne-plugin-name</c> (snake_case).</summary>
public sealed class SnePluginOptions : IValidatableOptions
{
    /// <summary>Learning rate η₀ at step 0, &gt; 0.</summary>
    public double Lr { get; init; } = 0.01;

    /// <summary>Fraction of η₀ reached at the last step, in (0, 1].</summary>
    public double FinalFraction { get; init; } = 0.01;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(Lr > 0) || !double.IsFinite(Lr)) yield return $"lr: must be a finite value > 0, got {Lr}";
        if (FinalFraction is <= 0 or > 1 || double.IsNaN(FinalFraction)) yield return $"final_fraction: must be in (0, 1], got {FinalFraction}";
    }
}

/// <summary>
/// A learning-rate schedule, a pure function of the step: exponential decay η(t) = η₀ · f^(t / T) from η₀ at t = 0 to
/// f·η₀ at t = T. Select it with <c>schedule: { type: sne-plugin-name, lr: 0.01 }</c>.
/// </summary>
[Plugin("sne-plugin-name", PluginKind.Schedule, OptionsType = typeof(SnePluginOptions), Description = "Exponential decay from lr to final_fraction · lr")]
public sealed class SnePlugin(SnePluginOptions options) : ISchedule
{
    /// <inheritdoc />
    public ScheduleValue At(long step, long totalSteps) =>
        new(options.Lr * Math.Pow(options.FinalFraction, (double)Math.Min(step, totalSteps) / Math.Max(1, totalSteps)));
}
