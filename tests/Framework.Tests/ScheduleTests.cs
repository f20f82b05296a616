using Shouldly;
using SubnetworkEnsembles.Optimizers;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

public class ScheduleTests
{
    private static readonly OneCycleSchedule OneCycle = new(new OneCycleScheduleOptions
    {
        LrInit = 0.001, LrMax = 0.1, LrMin = 1e-7, Warmup = 0.1, MomentumMax = 0.95, MomentumMin = 0.85,
    });

    [Trait("Category", "unit")]
    [Fact]
    public void One_cycle_learning_rate_at_known_steps()
    {
        const long T = 1000;                                    // T_up = 100, T_down = 900
        OneCycle.At(0, T).LearningRate.ShouldBe(0.001, 1e-12);
        OneCycle.At(50, T).LearningRate.ShouldBe((0.001 + 0.1) / 2, 1e-12);        // half-way up the cosine
        OneCycle.At(100, T).LearningRate.ShouldBe(0.1, 1e-12);                    // peak after 10 %
        OneCycle.At(550, T).LearningRate.ShouldBe((0.1 + 1e-7) / 2, 1e-12);       // half-way down
        double expected = 1e-7 + 0.5 * (0.1 - 1e-7) * (1 + Math.Cos(Math.PI * 899 / 900));
        OneCycle.At(999, T).LearningRate.ShouldBe(expected, 1e-15);               // last step, near η_min
        OneCycle.At(999, T).LearningRate.ShouldBeLessThan(1e-5);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void One_cycle_momentum_follows_the_inverse_cycle()
    {
        const long T = 1000;
        OneCycle.At(0, T).Momentum!.Value.ShouldBe(0.95, 1e-12);
        OneCycle.At(50, T).Momentum!.Value.ShouldBe(0.90, 1e-12);
        OneCycle.At(100, T).Momentum!.Value.ShouldBe(0.85, 1e-12);
        OneCycle.At(550, T).Momentum!.Value.ShouldBe(0.90, 1e-12);
        OneCycle.At(999, T).Momentum!.Value.ShouldBeGreaterThan(0.9499);
        new OneCycleSchedule(new OneCycleScheduleOptions { CycleMomentum = false }).At(10, T).Momentum.ShouldBeNull();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Linear_decay_is_the_spec_parent_schedule()
    {
        var s = new LinearDecaySchedule(new LinearDecayScheduleOptions());
        const long T = 200;
        s.At(0, T).LearningRate.ShouldBe(0.1);
        s.At(99, T).LearningRate.ShouldBe(0.1);
        s.At(140, T).LearningRate.ShouldBe(0.1 + (0.001 - 0.1) * 0.5, 1e-12);   // half-way between 50 % and 90 %
        s.At(180, T).LearningRate.ShouldBe(0.001);
        s.At(199, T).LearningRate.ShouldBe(0.001);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Sgd_and_adam_take_learning_rate_and_momentum_from_the_schedule()
    {
        using var p = new Parameter(zeros(3));
        using var sgd = new SgdOptimizer(new SgdOptimizerOptions { Momentum = 0.9, Nesterov = true }).Create([p], 0.5);
        sgd.SetLearningRate(0.01);
        sgd.SetMomentum(0.85);
        var group = (ParamGroup)sgd.Optimizer.ParamGroups.Single();
        group.LearningRate.ShouldBe(0.01);
        ((SGD.Options)group.Options).momentum.ShouldBe(0.85);

        using var adam = new AdamOptimizer(new AdamOptimizerOptions()).Create([p], 0.5);
        adam.SetMomentum(0.8);
        ((Adam.Options)((ParamGroup)adam.Optimizer.ParamGroups.Single()).Options).beta1.ShouldBe(0.8);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Sgd_step_matches_the_momentum_formula()
    {
        // W ← W − η b, b ← μ b + g, with g = 2W for the loss Σ W² (no Nesterov, no weight decay).
        using var w = new Parameter(tensor(new float[] { 1f, -2f }));
        using var sgd = new SgdOptimizer(new SgdOptimizerOptions { Momentum = 0.5 }).Create([w], 0.1);
        double[] expected = [1, -2];
        double[] buffer = [0, 0];
        for (int step = 0; step < 3; step++)
        {
            sgd.Optimizer.zero_grad();
            using var loss = w.pow(2).sum();
            loss.backward();
            sgd.Optimizer.step();
            for (int i = 0; i < 2; i++) { buffer[i] = 0.5 * buffer[i] + 2 * expected[i]; expected[i] -= 0.1 * buffer[i]; }
        }
        var actual = w.data<float>().ToArray();
        actual[0].ShouldBe((float)expected[0], 1e-5f);
        actual[1].ShouldBe((float)expected[1], 1e-5f);
    }
}
