using SubnetworkEnsembles.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Optimizers.Internal;

/// <summary>
/// Wraps a TorchSharp optimiser so the host can set its learning rate and momentum per step: the learning rate of every
/// parameter group, and the momentum through <paramref name="setMomentum"/> (SGD momentum, or Adam/AdamW β₁ when
/// <paramref name="momentumIsBeta1"/>).
/// </summary>
internal sealed class TrainableOptimizer(optim.Optimizer optimizer, Action<OptimizerOptions, double>? setMomentum, bool momentumIsBeta1 = false) : ITrainableOptimizer
{
    public optim.Optimizer Optimizer => optimizer;

    public bool SupportsMomentum => setMomentum is not null;

    public bool MomentumIsBeta1 => momentumIsBeta1;

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
