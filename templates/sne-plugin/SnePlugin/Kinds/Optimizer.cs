using SubnetworkEnsembles.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SnePlugin;

/// <summary>Options of <see cref="SnePlugin"/>: the YAML keys beside <c>type: sne-plugin-name</c> (snake_case).</summary>
public sealed class SnePluginOptions : IValidatableOptions
{
    /// <summary>Momentum μ in [0, 1); a schedule with momentum overrides it per step.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>L2 weight decay λ ≥ 0: g ← ∇ + λW.</summary>
    public double WeightDecay { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Momentum is < 0 or >= 1 || double.IsNaN(Momentum)) yield return $"momentum: must be in [0, 1), got {Momentum}";
        if (!(WeightDecay >= 0)) yield return $"weight_decay: must be ≥ 0, got {WeightDecay}";
    }
}

/// <summary>
/// An optimiser: SGD with momentum and weight decay, b ← μb + (∇ + λW), W ← W − ηb. The host sets η (and μ, when the
/// schedule gives one) before every step. Select it with <c>optimizer: { type: sne-plugin-name, momentum: 0.9 }</c>.
/// </summary>
[Plugin("sne-plugin-name", PluginKind.Optimizer, OptionsType = typeof(SnePluginOptions), Description = "SGD with momentum and weight decay")]
public sealed class SnePlugin(SnePluginOptions options) : IOptimizerFactory
{
    /// <inheritdoc />
    public ITrainableOptimizer Create(IReadOnlyList<Parameter> parameters, double learningRate) =>
        new Trainable(optim.SGD(parameters, learningRate, options.Momentum, weight_decay: options.WeightDecay));

    /// <summary>The TorchSharp optimiser with the learning rate and momentum of every parameter group settable.</summary>
    private sealed class Trainable(optim.Optimizer sgd) : ITrainableOptimizer
    {
        public optim.Optimizer Optimizer => sgd;

        public bool SupportsMomentum => true;

        public void SetLearningRate(double learningRate)
        {
            foreach (var group in sgd.ParamGroups) group.LearningRate = learningRate;
        }

        public void SetMomentum(double momentum)
        {
            foreach (var group in sgd.ParamGroups) ((SGD.Options)((ParamGroup)group).Options).momentum = momentum;
        }

        public void Dispose() => sgd.Dispose();
    }
}
