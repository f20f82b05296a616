using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Optimizers;
using SubnetworkEnsembles.Perturbations;
using SubnetworkEnsembles.Samplers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

public class PruneTests
{
    public static TheoryData<string> Optimizers => new() { "sgd-nesterov-wd", "adam-wd" };

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(Optimizers))]
    public void Pruned_weights_stay_exactly_zero_through_many_optimizer_steps(string optimizerName)
    {
        using var model = TestModels.SmallMlp(seed: 5);
        using var g = new Generator(1);
        var mask = new PartitionSampler(new PartitionSamplerOptions { K = 2 }).SampleSet(model.MaskableWeights, g)[0];
        var before = model.MaskableWeights.ToDictionary(w => w.Name, w => w.Weight.detach().clone());
        new PrunePerturbation().Apply(model.MaskableWeights, mask, TestModels.Context(g));

        IOptimizerFactory factory = optimizerName.StartsWith("sgd", StringComparison.Ordinal)
            ? new SgdOptimizer(new SgdOptimizerOptions { Momentum = 0.9, Nesterov = true, WeightDecay = 5e-3 })
            : new AdamOptimizer(new AdamOptimizerOptions { WeightDecay = 5e-3 });
        using var optimizer = factory.Create(model.parameters().ToList(), 0.05);
        using var data = new InMemoryDataset(randn([512, 1, 8, 8], generator: g), randint(0, 5, [512], generator: g));
        using var shuffle = new Generator(2);
        // 4 epochs × 16 batches = 64 steps with a large learning rate, momentum and weight decay.
        new Trainer(NullLogger.Instance).Train(model, data, new TrainingSettings(4, 32), optimizer,
            new ConstantSchedule(new ConstantScheduleOptions { Lr = 0.05 }), shuffle, "test");

        foreach (var w in model.MaskableWeights)
        {
            var m = mask.Masks[w.Name];
            using var pruned = w.Weight.detach().masked_select(m.eq(0));
            pruned.numel().ShouldBeGreaterThan(0);
            pruned.abs().max().ToDouble().ShouldBe(0.0, $"pruned entries of {w.Name} must stay exactly zero");
            // The kept weights did train (so the test would notice a frozen model).
            using var keptNow = w.Weight.detach().masked_select(m.eq(1));
            using var keptBefore = before[w.Name].masked_select(m.eq(1));
            keptNow.sub(keptBefore).abs().max().ToDouble().ShouldBeGreaterThan(1e-3);
            // The saved mask is the sampled one.
            w.Mask.IsSameAs(m).ShouldBeTrue();
        }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Prune_sets_masked_weights_to_zero_and_keeps_the_rest_unchanged()
    {
        using var model = TestModels.SmallMlp(seed: 9);
        using var g = new Generator(4);
        var mask = new BernoulliSampler(new BernoulliSamplerOptions { Sparsity = 0.5 }).SampleSet(model.MaskableWeights, g)[0];
        var before = model.MaskableWeights.ToDictionary(w => w.Name, w => w.Weight.detach().clone());
        new PrunePerturbation().Apply(model.MaskableWeights, mask, TestModels.Context(g));
        foreach (var w in model.MaskableWeights)
        {
            using var expected = before[w.Name].mul(mask.Masks[w.Name]);
            w.Weight.detach().IsSameAs(expected).ShouldBeTrue();
            w.FreezeMasked.ShouldBeTrue();
        }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void An_all_ones_mask_changes_nothing_in_the_forward_pass()
    {
        using var model = TestModels.SmallMlp(seed: 3);
        using var x = randn([4, 1, 8, 8], generator: new Generator(1));
        model.eval();
        using var y0 = model.call(x);
        foreach (var w in model.MaskableWeights) w.Mask = ones_like(w.Weight);
        using var y1 = model.call(x);
        y1.IsSameAs(y0).ShouldBeTrue();
        // A zero mask on the output layer does change it: the mask is really applied.
        model.MaskableWeights[^1].Mask = zeros_like(model.MaskableWeights[^1].Weight);
        using var y2 = model.call(x);
        y2.IsSameAs(y0).ShouldBeFalse();
    }
}

public class DivergenceTests
{
    [Trait("Category", "unit")]
    [Fact]
    public void A_non_finite_loss_stops_training_at_the_step_it_appears()
    {
        using var model = TestModels.SmallMlp(seed: 5);
        using var g = new Generator(1);
        var inputs = randn([64, 1, 8, 8], generator: g);
        inputs[10, 0, 0, 0] = tensor(float.NaN);                          // row 10 poisons its batch
        using var data = new InMemoryDataset(inputs, randint(0, 5, [64], generator: g));
        using var optimizer = new SgdOptimizer(new SgdOptimizerOptions()).Create(model.parameters().ToList(), 0.01);
        using var shuffle = new Generator(2);
        var e = Should.Throw<TrainingDivergedException>(() => new Trainer(NullLogger.Instance).Train(model, data, new TrainingSettings(3, 8), optimizer,
            new ConstantSchedule(new ConstantScheduleOptions { Lr = 0.01 }), shuffle, "child 2/6"));
        e.Message.ShouldStartWith("child 2/6: the training loss is NaN at step ");
        // Detected before the step: the weights are still finite.
        foreach (var w in model.MaskableWeights) w.Weight.detach().isfinite().all().ToBoolean().ShouldBeTrue();
    }
}
