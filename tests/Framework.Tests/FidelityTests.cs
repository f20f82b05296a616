using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Combiners;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Metrics;
using SubnetworkEnsembles.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The definitions that follow the dissertation (issue 16): the trust-region rules, eq. 7.1's per-sample correlation,
/// the mean-logits combiner and one-cycle's momentum for SGD but not Adam — each against a hand computation.
/// </summary>
public class FidelityTests
{
    private static readonly (double Kl, double Accuracy, double Strength, double Sigma)[] Grid =
    [
        (0.002, 0.90, 1e-6, 0.001),
        (0.011, 0.89, 4e-6, 0.002),   // near 0.02 (|KL − Δ| ≤ 0.01) and the most accurate of those
        (0.019, 0.88, 9e-6, 0.003),   // the strongest within KL ≤ 0.02
        (0.029, 0.87, 16e-6, 0.004),  // near, not within
        (0.060, 0.80, 25e-6, 0.005),
    ];

    [Trait("Category", "unit")]
    [Fact]
    public void Trust_region_rules_choose_as_documented()
    {
        var near = new TrustRegionConfig { TargetKl = 0.02, KlTolerance = 0.5 };
        TrustRegionSearch.Choose(Grid, near, out bool admissible).ShouldBe(1);
        admissible.ShouldBeTrue();
        var strongest = new TrustRegionConfig { TargetKl = 0.02, Rule = TrustRegionRule.StrongestWithinTarget };
        TrustRegionSearch.Choose(Grid, strongest, out admissible).ShouldBe(2);
        admissible.ShouldBeTrue();
        // A narrower band: only KL 0.019 is within 0.02 ± 0.002.
        TrustRegionSearch.Choose(Grid, new TrustRegionConfig { TargetKl = 0.02, KlTolerance = 0.1 }, out _).ShouldBe(2);
        // Nothing near 0.5: the setting with the KL closest to it, flagged.
        TrustRegionSearch.Choose(Grid, new TrustRegionConfig { TargetKl = 0.5, KlTolerance = 0.1 }, out admissible).ShouldBe(4);
        admissible.ShouldBeFalse();
        // Equal accuracy: the stronger setting wins.
        (double, double, double, double)[] tie = [(0.015, 0.9, 1e-6, 0.001), (0.025, 0.9, 4e-6, 0.002)];
        TrustRegionSearch.Choose(tie, near, out _).ShouldBe(1);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Correlation_is_per_sample_as_eq_7_1_and_flattened_on_request()
    {
        // Two members, three samples, three classes; sample 2 of member b is constant (uniform) and has no correlation.
        float[] a = [0.7f, 0.2f, 0.1f, 0.1f, 0.3f, 0.6f, 0.5f, 0.25f, 0.25f];
        float[] b = [0.6f, 0.1f, 0.3f, 0.2f, 0.2f, 0.6f, 1 / 3f, 1 / 3f, 1 / 3f];
        using var members = stack([tensor(a, [3, 3]), tensor(b, [3, 3])], 0);
        using var labels = tensor(new long[] { 0, 2, 0 });
        using var mean = members.mean([0]);
        var input = new MetricInput(members, mean, labels);
        double r0 = Pearson([0.7, 0.2, 0.1], [0.6, 0.1, 0.3]), r1 = Pearson([0.1, 0.3, 0.6], [0.2, 0.2, 0.6]);
        var perSample = new CorrelationMetric(new CorrelationMetricOptions());
        perSample.Compute(input)["correlation"].ShouldBe((r0 + r1) / 2, 1e-6);
        perSample.Pairwise(input)["correlation"][1][0].ShouldBe((r0 + r1) / 2, 1e-6);
        var flattened = new CorrelationMetric(new CorrelationMetricOptions { Over = CorrelationOver.Flattened });
        flattened.Compute(input)["correlation"].ShouldBe(Pearson(a.Select(v => (double)v).ToArray(), b.Select(v => (double)v).ToArray()), 1e-6);
        // The two readings differ on these outputs, so the test tells them apart.
        Math.Abs(perSample.Compute(input)["correlation"] - flattened.Compute(input)["correlation"]).ShouldBeGreaterThan(0.05);
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average();
        return x.Zip(y).Sum(p => (p.First - mx) * (p.Second - my)) / Math.Sqrt(x.Sum(v => (v - mx) * (v - mx)) * y.Sum(v => (v - my) * (v - my)));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Mean_logits_is_the_softmax_of_the_members_mean_logit()
    {
        using var g = new Generator(3);
        using var logits = randn([4, 50, 7], generator: g) * 3;
        using var probs = logits.softmax(2);
        using var combined = new MeanLogitsCombiner().Combine(probs);
        using var expected = logits.mean([0]).softmax(1);
        combined.shape.ShouldBe([50, 7]);
        combined.allclose(expected, rtol: 1e-4, atol: 1e-6).ShouldBeTrue();
        using var arithmetic = probs.mean([0]);
        (combined - arithmetic).abs().max().ToDouble().ShouldBeGreaterThan(1e-3, "it is not the mean of the probabilities");
    }

    [Trait("Category", "unit")]
    [Theory]
    [InlineData("sgd", false, true)]
    [InlineData("adam", false, false)]
    [InlineData("adam", true, true)]
    public void One_cycle_cycles_sgd_momentum_and_adam_beta1_only_when_asked(string optimizerName, bool cycleBeta1, bool expectCycled)
    {
        using var model = TestModels.SmallMlp(seed: 5);
        using var g = new Generator(1);
        IOptimizerFactory factory = optimizerName == "sgd"
            ? new SgdOptimizer(new SgdOptimizerOptions { Momentum = 0.9 })
            : new AdamOptimizer(new AdamOptimizerOptions { Beta1 = 0.9 });
        using var optimizer = factory.Create(model.parameters().ToList(), 0.001);
        using var data = new InMemoryDataset(randn([64, 1, 8, 8], generator: g), randint(0, 5, [64], generator: g));
        using var shuffle = new Generator(2);
        var schedule = new OneCycleSchedule(new OneCycleScheduleOptions { LrMax = 0.01, CycleBeta1 = cycleBeta1 });
        var seen = new List<double>();
        var group = (ParamGroup)optimizer.Optimizer.ParamGroups.Single();
        double Momentum() => group.Options is Adam.Options adam ? adam.beta1!.Value : ((SGD.Options)group.Options).momentum!.Value;
        // 2 epochs × 4 batches; the warm-up is the first step, so step 1 is at the peak learning rate (momentum 0.85).
        new Trainer(NullLogger.Instance).Train(model, data, new TrainingSettings(2, 16), optimizer, schedule, shuffle, "test",
            afterStep: _ => seen.Add(Momentum()));
        seen.Count.ShouldBe(8);
        if (expectCycled) seen.Min().ShouldBe(0.85, 1e-9);
        else seen.ShouldAllBe(m => m == 0.9);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Chained_cycles_continue_one_optimiser_and_the_first_fge_cycle_is_half_a_cycle()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "fge");
        var result = QuickSpirals.Run(run, null,
            "--set", "children.start=previous", "--set", "children.sampler=full", "--set", "children.perturbation=identity",
            "--set", "children.include_parent=false",
            "--set", "children.tuning={epochs: 1, batch_size: 64, optimizer: {type: adam}, schedule: {type: triangular, lr_min: 1.0e-5, lr_max: 0.003}}",
            "--set", "children.first_tuning={epochs: 1, subset: 0.5, batch_size: 64, optimizer: {type: adam}, " +
                     "schedule: {type: linear-decay, lr_max: 0.003, lr_end: 1.0e-5, decay_start: 0, decay_end: 1}}");
        result.ExitCode.ShouldBe(0, result.Output);

        // Child 0 tunes on half the 2250 training rows (half a cycle), child 1 on all of them (a full cycle).
        var members = Sne.Results(run)["members"]!.AsArray();
        members.Select(m => m!["train_rows"]!.GetValue<long>()).ShouldBe([1125L, 2250L]);
        // One Adam trajectory: the parent's 5 × 36 steps, child 0's ⌈1125 / 64⌉ = 18, child 1's 36 — so child 1's saved
        // optimiser has taken 234 steps (a fresh optimiser per cycle would have taken 36).
        File.Exists(Path.Combine(run, "parent.optim")).ShouldBeTrue();
        using var child = TestModels.SpiralsMlp(Path.Combine(run, "children", "child-001.ckpt"));
        using var adam = new AdamOptimizer(new AdamOptimizerOptions()).Create(child.parameters().ToList(), 0.001);
        OptimizerStateFile.Load(Path.Combine(run, "children", "child-001.optim"), adam);
        var state = ((OptimizerHelper)adam.Optimizer).state_dict().State;
        state.Count.ShouldBe(child.parameters().Count());
        state.Cast<Adam.State>().ShouldAllBe(s => s.step == 234);
    }
}
