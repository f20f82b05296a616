using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// An optimiser whose learning rate and momentum the host sets before each step from an <see cref="ISchedule"/>.
/// </summary>
public interface ITrainableOptimizer : IDisposable
{
    /// <summary>The underlying TorchSharp optimiser (for <c>zero_grad</c>, <c>step</c>, state dicts).</summary>
    optim.Optimizer Optimizer { get; }

    /// <summary>Sets the learning rate of every parameter group.</summary>
    void SetLearningRate(double learningRate);

    /// <summary>
    /// Sets momentum (SGD momentum, Adam β₁) of every parameter group; ignored when
    /// <see cref="SupportsMomentum"/> is false.
    /// </summary>
    void SetMomentum(double momentum);

    /// <summary>Whether <see cref="SetMomentum"/> has an effect.</summary>
    bool SupportsMomentum { get; }

    /// <summary>
    /// Whether the momentum <see cref="SetMomentum"/> sets is an adaptive method's β₁ (Adam, AdamW) rather than classical
    /// (SGD) momentum. The host passes a schedule's momentum to a β₁ only when the schedule asks for it
    /// (<see cref="ScheduleValue.AppliesToBeta1"/>). Default: false.
    /// </summary>
    bool MomentumIsBeta1 => false;
}

/// <summary>Creates an optimiser over a model's parameters. The learning rate comes from the schedule.</summary>
public interface IOptimizerFactory
{
    /// <summary>Builds an optimiser over <paramref name="parameters"/> with initial learning rate <paramref name="learningRate"/>.</summary>
    ITrainableOptimizer Create(IReadOnlyList<Parameter> parameters, double learningRate);
}

/// <summary>Learning rate and (optionally) momentum for one optimiser step.</summary>
/// <param name="LearningRate">η(t).</param>
/// <param name="Momentum">
/// Momentum at t, or null to leave the optimiser's own value. It sets classical (SGD) momentum; an adaptive optimiser's
/// β₁ (<see cref="ITrainableOptimizer.MomentumIsBeta1"/>) only when <see cref="AppliesToBeta1"/> is true.
/// </param>
public readonly record struct ScheduleValue(double LearningRate, double? Momentum = null)
{
    /// <summary>Whether <see cref="Momentum"/> also sets Adam/AdamW β₁ (dissertation ch. 5 cycles SGD momentum only). Default: false.</summary>
    public bool AppliesToBeta1 { get; init; }
}

/// <summary>
/// A learning-rate (and momentum) schedule: a pure function of the step, evaluated per batch.
/// </summary>
public interface ISchedule
{
    /// <summary>Value for step <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    ScheduleValue At(long step, long totalSteps);
}
