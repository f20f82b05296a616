using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Combiners;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Metrics;
using SubnetworkEnsembles.Optimizers;
using SubnetworkEnsembles.Perturbations;
using SubnetworkEnsembles.Perturbations.Internal;
using SubnetworkEnsembles.Samplers;
using SubnetworkEnsembles.Samplers.Internal;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>The mathematical invariants of SPEC §7, per plugin.</summary>
public class MethodInvariantTests
{
    private static bool RowsAreWhole(Tensor mask)
    {
        using var rows = mask.reshape(mask.shape[0], -1);
        using var min = rows.amin(1);
        using var max = rows.amax(1);
        return min.eq(max).all().ToBoolean();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Structured_masks_zero_whole_rows_and_filters()
    {
        using var model = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10);
        using var g = new Generator(2);
        var mask = new StructuredSampler(new StructuredSamplerOptions { Sparsity = 0.5 }).SampleSet(model.MaskableWeights, g)[0];
        foreach (var w in model.MaskableWeights)
        {
            RowsAreWhole(mask.Masks[w.Name]).ShouldBeTrue(w.Name);
            using var rows = mask.Masks[w.Name].reshape(w.Weight.shape[0], -1).amax(1);
            rows.sum().ToDouble().ShouldBe(Math.Round(0.5 * w.Weight.shape[0]), w.Name);
        }
        // Neuron partitions: whole rows, and the two children still cover every weight exactly once.
        var set = new PartitionSampler(new PartitionSamplerOptions { K = 2, Structure = Structure.Neurons }).SampleSet(model.MaskableWeights, g);
        foreach (var w in model.MaskableWeights)
        {
            RowsAreWhole(set[0].Masks[w.Name]).ShouldBeTrue();
            set[0].Masks[w.Name].add(set[1].Masks[w.Name]).eq(1).all().ToBoolean().ShouldBeTrue();
        }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Global_masking_hits_the_global_sparsity_and_removes_more_from_big_layers()
    {
        using var model = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10);
        using var g = new Generator(2);
        long total = model.MaskableWeights.Sum(w => w.Weight.numel());
        var magnitude = new MagnitudeSampler(new MagnitudeSamplerOptions { Sparsity = 0.8, Scope = Scope.Global }).SampleSet(model.MaskableWeights, g)[0];
        magnitude.Sparsity.ShouldBe(0.8, 1.0 / total);
        var random = new BernoulliSampler(new BernoulliSamplerOptions { Sparsity = 0.8, ExactCount = true, Scope = Scope.Global }).SampleSet(model.MaskableWeights, g)[0];
        random.Sparsity.ShouldBe(0.8, 1.0 / total);
        // Magnitude keeps exactly the largest |w| overall: every kept weight is at least as large as every pruned one.
        using var all = cat(model.MaskableWeights.Select(w => w.Weight.detach().abs().flatten()).ToList(), 0);
        using var keep = cat(model.MaskableWeights.Select(w => magnitude.Masks[w.Name].flatten()).ToList(), 0);
        all.masked_select(keep.eq(1)).min().ToDouble().ShouldBeGreaterThanOrEqualTo(all.masked_select(keep.eq(0)).max().ToDouble());
        // Global, not per layer: with the default init (|w| ~ 1/√fan-in) the layer of largest fan-in loses far more than
        // the layer of smallest fan-in, and the global random draw does not hit 80 % inside every layer.
        var byFanIn = model.MaskableWeights.OrderBy(w => w.Weight.numel() / w.Weight.shape[0]).ToList();
        double SparsityOf(ChildMask mask, IMaskableWeight w) => 1 - mask.Masks[w.Name].mean().ToDouble();
        SparsityOf(magnitude, byFanIn[^1]).ShouldBeGreaterThan(SparsityOf(magnitude, byFanIn[0]) + 0.3, $"{byFanIn[^1].Name} vs {byFanIn[0].Name}");
        model.MaskableWeights.ShouldContain(w => random.Masks[w.Name].sum().ToInt64() != (long)Math.Round(0.2 * w.Weight.numel()));
        // Layerwise magnitude hits the target inside every layer.
        var layerwise = new MagnitudeSampler(new MagnitudeSamplerOptions { Sparsity = 0.8 }).SampleSet(model.MaskableWeights, g)[0];
        foreach (var w in model.MaskableWeights)
            layerwise.Masks[w.Name].mean().ToDouble().ShouldBe(0.2, 1.0 / w.Weight.numel() + 1e-9);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Noise_touches_only_masked_entries_and_mirrored_children_average_back_to_the_parent()
    {
        using var parent = TestModels.SmallMlp(seed: 6);
        using var g = new Generator(4);
        var set = new PartitionSampler(new PartitionSamplerOptions { K = 2, Mirror = true }).SampleSet(parent.MaskableWeights, g);
        set.Count.ShouldBe(4);
        var options = new NoisePerturbationOptions { Sigma = 0.1 };
        var children = new List<MaskedNetwork>();
        for (int member = 0; member < 4; member++)
        {
            var child = TestModels.SmallMlp(seed: 1);
            child.CopyFrom(parent);
            using var own = new Generator((ulong)(100 + member));
            using var shared = new Generator(77);          // the set's generator: fresh and identical for every member
            new MirroredNoisePerturbation(options).Apply(child.MaskableWeights, set[member], TestModels.Context(own, member, 0, member, 4, shared));
            children.Add(child);
        }
        foreach (var (w, i) in parent.MaskableWeights.Select((w, i) => (w, i)))
        {
            using var sum = zeros_like(w.Weight);
            foreach (var c in children) sum.add_(c.MaskableWeights[i].Weight.detach());
            sum.div_(4).sub(w.Weight.detach()).abs().max().ToDouble().ShouldBeLessThan(1e-6, "mean of the four = parent");
            // Child 0 (W + N ⊙ M) differs from W only where M = 1.
            using var delta = children[0].MaskableWeights[i].Weight.detach().sub(w.Weight.detach());
            delta.masked_select(set[0].Masks[w.Name].eq(0)).abs().max().ToDouble().ShouldBe(0);
            delta.masked_select(set[0].Masks[w.Name].eq(1)).abs().max().ToDouble().ShouldBeGreaterThan(0);
        }
        // Plain noise: only masked entries change, and the child stays dense.
        using var noisy = TestModels.SmallMlp(seed: 1);
        noisy.CopyFrom(parent);
        using var ng = new Generator(8);
        new NoisePerturbation(options).Apply(noisy.MaskableWeights, set[1], TestModels.Context(ng));
        foreach (var (w, i) in parent.MaskableWeights.Select((w, i) => (w, i)))
        {
            using var delta = noisy.MaskableWeights[i].Weight.detach().sub(w.Weight.detach());
            delta.masked_select(set[1].Masks[w.Name].eq(0)).abs().max().ToDouble().ShouldBe(0);
            noisy.MaskableWeights[i].Mask.eq(1).all().ToBoolean().ShouldBeTrue();
        }
        foreach (var c in children) c.Dispose();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Relative_noise_scales_with_each_layers_weight_std()
    {
        using var model = TestModels.SmallMlp(seed: 2);
        var w = model.MaskableWeights[0];
        double std = w.Weight.detach().std().ToDouble();
        using var g = new Generator(1);
        using var noise = NoisePerturbation_Draw(w, new NoisePerturbationOptions { Sigma = 0.5, Relative = true }, g);
        noise.std().ToDouble().ShouldBe(0.5 * std, 0.05 * std);
    }

    private static Tensor NoisePerturbation_Draw(IMaskableWeight w, NoisePerturbationOptions o, Generator g)
    {
        using var before = w.Weight.detach().clone();
        var mask = new ChildMask(new Dictionary<string, Tensor> { [w.Name] = ones_like(w.Weight) });
        new NoisePerturbation(o).Apply([w], mask, TestModels.Context(g));
        return w.Weight.detach().sub(before);
    }

    [Trait("Category", "unit")]
    [Theory]
    [InlineData(AnnealFunction.Linear)]
    [InlineData(AnnealFunction.Cosine)]
    [InlineData(AnnealFunction.Exponential)]
    public void Annealed_probabilities_equal_the_target_mask_from_t_anneal_on(AnnealFunction function)
    {
        using var model = TestModels.SmallMlp(seed: 3);
        using var g = new Generator(5);
        var set = new PartitionSampler(new PartitionSamplerOptions { K = 2 }).SampleSet(model.MaskableWeights, g);
        var temperature = new TemperatureAnnealPerturbation(new TemperatureAnnealOptions { Tau = 0.5, AnnealEpochs = 3, Function = function });
        temperature.Apply(model.MaskableWeights, set[0], TestModels.Context(g));
        var w = model.MaskableWeights[0];
        var target = set[0].Masks[w.Name];
        // t = 0: P = 1 on the target, τ elsewhere; a stochastic mask is drawn in training.
        temperature.Probabilities(w)!.IsSameAs(target.add(target.neg().add(1).mul(0.5))).ShouldBeTrue();
        w.StochasticMask.ShouldNotBeNull();
        // At epoch 1 of T = 3, off the target P = τ·w(1/3), w from SPEC eqs. 6.2–6.4 normalised to [0, 1]:
        // linear 1 − 1/3, cosine ½(1 + cos π/3) = ¾, exponential e^(−k/3) with k = 5. On the target P stays 1.
        double expectedOff = 0.5 * function switch
        {
            AnnealFunction.Linear => 2.0 / 3,
            AnnealFunction.Cosine => 0.75,
            _ => Math.Exp(-5.0 / 3),
        };
        temperature.OnTuningStep(model.MaskableWeights, new TrainingProgress(10, 100, 1, 10));
        using (var off = temperature.Probabilities(w)!.masked_select(target.eq(0)))
        {
            off.max().ToDouble().ShouldBe(expectedOff, 1e-6, function.ToString());
            off.min().ToDouble().ShouldBe(expectedOff, 1e-6, function.ToString());
        }
        using (var on = temperature.Probabilities(w)!.masked_select(target.eq(1)))
            on.min().ToDouble().ShouldBe(1);
        // From epoch T_anneal = 3 on: exactly the target, deterministic, pruned weights frozen at zero.
        temperature.OnTuningStep(model.MaskableWeights, new TrainingProgress(30, 100, 3, 10));
        temperature.Probabilities(w)!.IsSameAs(target).ShouldBeTrue();
        w.StochasticMask.ShouldBeNull();
        w.Weight.detach().masked_select(target.eq(0)).abs().max().ToDouble().ShouldBe(0);

        // Random annealing with partitioned P and 1 − P: complementary targets at sparsity ½, reached at T.
        using var a = TestModels.SmallMlp(seed: 3);
        using var b = TestModels.SmallMlp(seed: 3);
        var random = new RandomAnnealPerturbation(new RandomAnnealOptions { Partitioned = true, AnnealEpochs = 2, Function = function });
        using (var own = new Generator(1)) using (var shared = new Generator(42))
            random.Apply(a.MaskableWeights, set[0], TestModels.Context(own, 0, 0, 0, 2, shared));
        using (var own = new Generator(2)) using (var shared = new Generator(42))
            random.Apply(b.MaskableWeights, set[1], TestModels.Context(own, 1, 0, 1, 2, shared));
        random.OnTuningStep(a.MaskableWeights, new TrainingProgress(20, 40, 2, 10));
        random.OnTuningStep(b.MaskableWeights, new TrainingProgress(20, 40, 2, 10));
        for (int i = 0; i < a.MaskableWeights.Count; i++)
        {
            var pa = random.Probabilities(a.MaskableWeights[i])!;
            pa.IsSameAs(a.MaskableWeights[i].Mask).ShouldBeTrue();
            pa.eq(0).logical_or(pa.eq(1)).all().ToBoolean().ShouldBeTrue();
            a.MaskableWeights[i].Mask.add(b.MaskableWeights[i].Mask).eq(1).all().ToBoolean().ShouldBeTrue("P and 1 − P give disjoint, covering targets");
            long n = a.MaskableWeights[i].Weight.numel();
            a.MaskableWeights[i].Mask.mean().ToDouble().ShouldBe(0.5, 4 * Math.Sqrt(0.25 / n));   // P₀ ~ U(0, 1) thresholded at ½
        }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Iterative_pruning_removes_an_equal_share_per_epoch_and_reaches_the_target_on_schedule()
    {
        using var model = TestModels.SmallMlp(seed: 8);
        using var g = new Generator(6);
        var target = new BernoulliSampler(new BernoulliSamplerOptions { Sparsity = 0.9, ExactCount = true }).SampleSet(model.MaskableWeights, g)[0];
        var prune = new IterativePrunePerturbation(new IterativePruneOptions { Epochs = 4, Order = PruneOrder.Magnitude });
        prune.Apply(model.MaskableWeights, target, TestModels.Context(g));
        var w = model.MaskableWeights[0];
        long n = w.Weight.numel(), outside = n - (long)target.Masks[w.Name].sum().ToDouble();
        for (int epoch = 0; epoch < 6; epoch++)
        {
            prune.OnTuningStep(model.MaskableWeights, new TrainingProgress(epoch * 10, 60, epoch, 10));
            long removed = n - (long)w.Mask.sum().ToDouble();
            long expected = (long)Math.Ceiling(Math.Min(epoch + 1, 4) * outside / 4.0);
            removed.ShouldBe(expected, $"epoch {epoch}");
            // Only weights outside the target are ever removed, and removed weights are exactly zero.
            w.Mask.masked_select(target.Masks[w.Name].eq(1)).eq(1).all().ToBoolean().ShouldBeTrue();
            w.Weight.detach().masked_select(w.Mask.eq(0)).abs().max().ToDouble().ShouldBe(0);
        }
        w.Mask.IsSameAs(target.Masks[w.Name]).ShouldBeTrue();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Diversity_metrics_and_combiners_equal_hand_computed_values()
    {
        // Two members, two rows, two classes.
        using var a = tensor(new float[] { 0.8f, 0.2f, 0.4f, 0.6f }, [2, 2]);
        using var b = tensor(new float[] { 0.6f, 0.4f, 0.7f, 0.3f }, [2, 2]);
        using var members = stack([a, b], 0);
        using var labels = tensor(new long[] { 0, 1 });
        using var mean = members.mean([0]);
        var input = new MetricInput(members, mean, labels);

        new DisagreementMetric().Compute(input)["disagreement"].ShouldBe(0.5, 1e-9);                 // row 1 differs
        double kl12 = (0.8 * Math.Log(0.8 / 0.6) + 0.2 * Math.Log(0.2 / 0.4) + 0.4 * Math.Log(0.4 / 0.7) + 0.6 * Math.Log(0.6 / 0.3)) / 2;
        double kl21 = (0.6 * Math.Log(0.6 / 0.8) + 0.4 * Math.Log(0.4 / 0.2) + 0.7 * Math.Log(0.7 / 0.4) + 0.3 * Math.Log(0.3 / 0.6)) / 2;
        var kl = new KlDiversityMetric();
        kl.Compute(input)["kl_diversity"].ShouldBe((kl12 + kl21) / 2, 1e-6);
        kl.Pairwise(input)["kl_diversity"][0][1].ShouldBe(kl12, 1e-6);
        kl.Pairwise(input)["kl_diversity"][1][0].ShouldBe(kl21, 1e-6);
        // Eq. 7.1 per sample: two classes make each row's correlation ±1 — row 0 (0.8, 0.2) vs (0.6, 0.4) is +1, row 1
        // (0.4, 0.6) vs (0.7, 0.3) is −1 — so the mean is 0.
        new CorrelationMetric(new()).Compute(input)["correlation"].ShouldBe(0, 1e-6);
        // over: flattened — the Pearson correlation of (0.8, 0.2, 0.4, 0.6) and (0.6, 0.4, 0.7, 0.3), computed independently.
        double[] x = [0.8, 0.2, 0.4, 0.6], y = [0.6, 0.4, 0.7, 0.3];
        double mx = x.Average(), my = y.Average();
        double r = x.Zip(y).Sum(p => (p.First - mx) * (p.Second - my)) / Math.Sqrt(x.Sum(v => (v - mx) * (v - mx)) * y.Sum(v => (v - my) * (v - my)));
        new CorrelationMetric(new() { Over = CorrelationOver.Flattened }).Compute(input)["correlation"].ShouldBe(r, 1e-6);
        // Brier of the mean [[0.7, 0.3], [0.55, 0.45]] with labels [0, 1]: ((0.3² + 0.3²) + (0.55² + 0.55²)) / 2.
        new BrierMetric().Compute(input)["brier"].ShouldBe((0.18 + 2 * 0.55 * 0.55) / 2, 1e-6);
        // A single model has no pairs.
        new DisagreementMetric().Compute(new MetricInput(a.unsqueeze(0), a, labels)).ShouldBeEmpty();

        // Combiners: weighted mean and vote shares.
        using var weighted = new MeanCombiner(new MeanCombinerOptions { Weights = [3, 1] }).Combine(members);
        weighted.shape.ShouldBe([2L, 2]);
        weighted[0, 0].ToDouble().ShouldBe(0.75 * 0.8 + 0.25 * 0.6, 1e-6);
        using var votes = new VoteCombiner().Combine(members);
        votes.IsSameAs(tensor(new float[] { 1f, 0f, 0.5f, 0.5f }, [2, 2])).ShouldBeTrue();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Trust_region_kl_equals_the_hand_computed_value()
    {
        using var p = tensor(new float[] { 0.9f, 0.1f, 0.5f, 0.5f }, [2, 2]);
        using var q = tensor(new float[] { 0.8f, 0.2f, 0.6f, 0.4f }, [2, 2]);
        double expected = (0.9 * Math.Log(0.9 / 0.8) + 0.1 * Math.Log(0.1 / 0.2) + 0.5 * Math.Log(0.5 / 0.6) + 0.5 * Math.Log(0.5 / 0.4)) / 2;
        TrustRegionSearch.KlDivergence(p, q).ShouldBe(expected, 1e-6);
        TrustRegionSearch.KlDivergence(p, p).ShouldBe(0, 1e-9);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void New_schedules_at_known_steps()
    {
        var step = new StepSchedule(new StepScheduleOptions { Lr = 0.1, Milestones = [0.5, 0.75], Gamma = 0.1 });
        step.At(49, 100).LearningRate.ShouldBe(0.1, 1e-12);
        step.At(50, 100).LearningRate.ShouldBe(0.01, 1e-12);
        step.At(80, 100).LearningRate.ShouldBe(0.001, 1e-12);
        var cosine = new CosineSchedule(new CosineScheduleOptions { LrMax = 0.1, LrMin = 0 });
        cosine.At(0, 100).LearningRate.ShouldBe(0.1, 1e-12);
        cosine.At(50, 100).LearningRate.ShouldBe(0.05, 1e-12);
        var cyclic = new CyclicCosineSchedule(new CyclicCosineScheduleOptions { Cycles = 4, LrMax = 0.2, LrMin = 0 });
        cyclic.At(0, 100).LearningRate.ShouldBe(0.2, 1e-12);
        cyclic.At(25, 100).LearningRate.ShouldBe(0.2, 1e-12);     // restart at every cycle
        cyclic.At(12, 100).LearningRate.ShouldBe(0.5 * 0.2 * (1 + Math.Cos(Math.PI * 12 / 25)), 1e-12);
    }
}
