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
}

/// <summary>Creates an optimiser over a model's parameters. The learning rate comes from the schedule.</summary>
public interface IOptimizerFactory
{
    /// <summary>Builds an optimiser over <paramref name="parameters"/> with initial learning rate <paramref name="learningRate"/>.</summary>
    ITrainableOptimizer Create(IReadOnlyList<Parameter> parameters, double learningRate);
}

/// <summary>Learning rate and (optionally) momentum for one optimiser step.</summary>
/// <param name="LearningRate">η(t).</param>
/// <param name="Momentum">Momentum / β₁ at t, or null to leave the optimiser's own value.</param>
public readonly record struct ScheduleValue(double LearningRate, double? Momentum = null);

/// <summary>
/// A learning-rate (and momentum) schedule: a pure function of the step, evaluated per batch.
/// </summary>
public interface ISchedule
{
    /// <summary>Value for step <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    ScheduleValue At(long step, long totalSteps);
}
