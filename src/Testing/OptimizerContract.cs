using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Testing.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing;

/// <summary>
/// The contract of <see cref="IOptimizerFactory"/> in one call, on two identical <see cref="MaskableModel.Mlp"/>s
/// trained with cross-entropy on a seeded batch: the optimiser holds every parameter it was given;
/// <see cref="ITrainableOptimizer.SetLearningRate"/> sets every parameter group's learning rate; three steps change the
/// parameters, identically for two fresh factories (deterministic); a step at learning rate 0 changes nothing;
/// <see cref="ITrainableOptimizer.SetMomentum"/> is accepted (a no-op without <see cref="ITrainableOptimizer.SupportsMomentum"/>);
/// no tensor left undisposed over repeated steps.
/// </summary>
public static class OptimizerContract
{
    /// <summary>Checks the optimiser factory made by <paramref name="create"/>; throws <see cref="ContractException"/> naming it and the first problem.</summary>
    public static void Check(Func<IOptimizerFactory> create, double learningRate = 0.05, int leakCalls = 4)
    {
        var factory = create();
        string plugin = PluginNames.Of(factory, "optimizer");
        using var a = MaskableModel.Mlp(seed: 5);
        using var b = MaskableModel.Mlp(seed: 5);
        using var batch = TestBatches.Classification(a.InputShape, a.Classes, rows: 16, seed: 6);
        using var initial = new DisposableList(Tensors.Snapshot(a.Parameters));
        using var optimizerA = factory.Create(a.Parameters, learningRate);
        using var optimizerB = create().Create(b.Parameters, learningRate);

        long held = optimizerA.Optimizer.parameters().Count();
        if (held != a.Parameters.Count) throw new ContractException(plugin, $"the optimiser holds {held} parameters, it was given {a.Parameters.Count}");
        optimizerA.SetLearningRate(learningRate / 2);
        if (optimizerA.Optimizer.ParamGroups.Any(g => g.LearningRate != learningRate / 2))
            throw new ContractException(plugin, $"SetLearningRate({learningRate / 2}) left a parameter group at another learning rate");
        optimizerA.SetLearningRate(learningRate);
        optimizerA.SetMomentum(0.5);
        optimizerB.SetMomentum(0.5);

        for (int i = 0; i < 3; i++) { Step(a, optimizerA, batch); Step(b, optimizerB, batch); }
        using (var afterA = new DisposableList(Tensors.Snapshot(a.Parameters)))
        {
            if (Tensors.Same(afterA.Items, initial.Items)) throw new ContractException(plugin, "three steps at learning rate " + learningRate + " did not change the parameters");
            if (!Tensors.Same(afterA.Items, [.. b.Parameters])) throw new ContractException(plugin, "two fresh optimisers on identical models and batches took different steps");
            optimizerA.SetLearningRate(0);
            Step(a, optimizerA, batch);
            if (!Tensors.Same(afterA.Items, [.. a.Parameters])) throw new ContractException(plugin, "a step at learning rate 0 changed the parameters");
        }
        optimizerA.SetLearningRate(learningRate);
        Tensors.ShouldNotLeak(plugin, "a training step (zero_grad, backward, step)", leakCalls, () => Step(a, optimizerA, batch));
    }

    private static void Step(MaskableModel model, ITrainableOptimizer optimizer, LabelledBatch batch)
    {
        using var scope = NewDisposeScope();
        optimizer.Optimizer.zero_grad();
        using var logits = model.Forward(batch.Inputs);
        using var loss = nn.functional.cross_entropy(logits, batch.Labels);
        loss.backward();
        optimizer.Optimizer.step();
    }

    private sealed class DisposableList(List<Tensor> items) : IDisposable
    {
        public List<Tensor> Items { get; } = items;

        public void Dispose() => Tensors.DisposeAll(Items);
    }
}
