using SubnetworkEnsembles.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Optimizers.Internal;

/// <summary>
/// Wraps a TorchSharp optimiser so the host can set its learning rate and momentum per step: the learning rate of every
/// parameter group, and the momentum through <paramref name="setMomentum"/> (SGD momentum, Adam/AdamW β₁).
/// </summary>
internal sealed class TrainableOptimizer(optim.Optimizer optimizer, Action<OptimizerOptions, double>? setMomentum) : ITrainableOptimizer
{
    public optim.Optimizer Optimizer => optimizer;

    public bool SupportsMomentum => setMomentum is not null;

    public void SetLearningRate(double learningRate)
    {
        foreach (var g in optimizer.ParamGroups) g.LearningRate = learningRate;
    }

    public void SetMomentum(double momentum)
    {
        if (setMomentum is null) return;
        foreach (var g in optimizer.ParamGroups) setMomentum(((ParamGroup)g).Options, momentum);
    }

    public void Dispose() => optimizer.Dispose();
}
