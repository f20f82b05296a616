using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Optimizers.Internal;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Optimizers;

/// <summary>Options of <see cref="AdamWOptimizer"/>.</summary>
public sealed class AdamWOptimizerOptions : IValidatableOptions
{
    /// <summary>β₁; a schedule with momentum (one-cycle) overrides it per step.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>β₂.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>ε added to √v̂.</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>Decoupled weight decay λ: W ← W − ηλW, separate from the gradient step.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Use the AMSGrad variant.</summary>
    public bool Amsgrad { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Beta1 is < 0 or >= 1) yield return $"beta1: must be in [0, 1), got {Beta1}";
        if (Beta2 is < 0 or >= 1) yield return $"beta2: must be in [0, 1), got {Beta2}";
        if (Eps <= 0) yield return $"eps: must be > 0, got {Eps}";
        if (WeightDecay < 0) yield return $"weight_decay: must be ≥ 0, got {WeightDecay}";
    }
}

/// <summary>AdamW (Loshchilov &amp; Hutter): Adam with decoupled weight decay W ← W − ηλW. Momentum from a schedule sets β₁ only when the schedule asks for it (one-cycle's <c>cycle_beta1: true</c>).</summary>
[Plugin("adamw", PluginKind.Optimizer, OptionsType = typeof(AdamWOptimizerOptions), Description = "Adam with decoupled weight decay")]
public sealed class AdamWOptimizer(AdamWOptimizerOptions options) : IOptimizerFactory
{
    /// <inheritdoc />
    public ITrainableOptimizer Create(IReadOnlyList<Parameter> parameters, double learningRate) =>
        new TrainableOptimizer(optim.AdamW(parameters, learningRate, options.Beta1, options.Beta2, options.Eps, options.WeightDecay, options.Amsgrad),
            (o, m) => ((AdamW.Options)o).beta1 = m, momentumIsBeta1: true);
}
