using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Optimizers.Internal;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Optimizers;

/// <summary>Options of <see cref="SgdOptimizer"/>.</summary>
public sealed class SgdOptimizerOptions : IValidatableOptions
{
    /// <summary>Momentum μ (0 = plain SGD). A schedule with momentum (one-cycle) overrides it per step.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Nesterov momentum (requires momentum &gt; 0).</summary>
    public bool Nesterov { get; init; }

    /// <summary>L2 weight decay λ added to the gradient: g ← g + λW.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Dampening of momentum.</summary>
    public double Dampening { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Momentum is < 0 or >= 1) yield return $"momentum: must be in [0, 1), got {Momentum}";
        if (WeightDecay < 0) yield return $"weight_decay: must be ≥ 0, got {WeightDecay}";
        if (Dampening is < 0 or > 1) yield return $"dampening: must be in [0, 1], got {Dampening}";
        if (Nesterov && (Momentum <= 0 || Dampening != 0)) yield return "nesterov: needs momentum > 0 and dampening 0";
    }
}

/// <summary>
/// Stochastic gradient descent with (Nesterov) momentum and L2 weight decay (PyTorch semantics):
/// g ← ∇ + λW; b ← μb + (1 − d)g; W ← W − η(g + μb) with Nesterov, W ← W − ηb without.
/// </summary>
[Plugin("sgd", PluginKind.Optimizer, OptionsType = typeof(SgdOptimizerOptions),
    Description = "SGD with momentum, Nesterov and weight decay")]
public sealed class SgdOptimizer(SgdOptimizerOptions options) : IOptimizerFactory
{
    /// <inheritdoc />
    public ITrainableOptimizer Create(IReadOnlyList<Parameter> parameters, double learningRate) =>
        new TrainableOptimizer(optim.SGD(parameters, learningRate, options.Momentum, options.Dampening, options.WeightDecay, options.Nesterov),
            options.Momentum > 0 ? (o, m) => ((SGD.Options)o).momentum = m : null);
}
