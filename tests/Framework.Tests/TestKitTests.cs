using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The test kit's contract checks fail, naming the plugin and the problem, on plugins broken in one way each: the kit is
/// what plugin authors rely on, so each check must be able to fail (and passes on a correct plugin: see PluginHarnessTests).
/// </summary>
public class TestKitTests
{
    /// <summary>How a <see cref="BrokenSampler"/> breaks the sampler contract.</summary>
    public enum SamplerFault { None, GlobalGenerator, WrongShape, NotBinary, UnknownName, MutatesWeights, Leaks, WrongSetSize }

    [Plugin("broken-sampler", PluginKind.Sampler)]
    public sealed class BrokenSampler(SamplerFault fault) : ISubnetworkSampler
    {
        public int SetSize => 1;

        public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator)
        {
            var masks = new Dictionary<string, Tensor>();
            foreach (var w in weights)
            {
                using var half = full(w.Weight.shape, 0.5);
                var mask = fault == SamplerFault.GlobalGenerator ? bernoulli(half) : bernoulli(half, generator);
                if (fault == SamplerFault.WrongShape) mask = mask.flatten();
                if (fault == SamplerFault.NotBinary) mask = mask.mul(0.5);
                if (fault == SamplerFault.Leaks) _ = mask.sum();
                if (fault == SamplerFault.MutatesWeights) { using var _ = no_grad(); w.Weight.mul_(2); }
                masks[fault == SamplerFault.UnknownName ? w.Name + ".typo" : w.Name] = mask;
            }
            var set = new ChildMask(masks);
            return fault == SamplerFault.WrongSetSize ? [set, new ChildMask(new Dictionary<string, Tensor>())] : [set];
        }
    }

    public static TheoryData<SamplerFault, string> SamplerFaults() => new()
    {
        { SamplerFault.GlobalGenerator, "two fresh instances given generators with the same seed drew different masks" },
        { SamplerFault.WrongShape, "child 0, mask 'conv.weight' has shape [36], the weight has [4, 1, 3, 3]" },
        { SamplerFault.NotBinary, "child 0, mask 'conv.weight' has values other than 0 and 1" },
        { SamplerFault.UnknownName, "child 0 has a mask for 'conv.weight.typo', which is not one of the weights (conv.weight, output.weight)" },
        { SamplerFault.MutatesWeights, "SampleSet changed the values of weight 'conv.weight'" },
        { SamplerFault.Leaks, "SampleSet left 8 tensor(s) undisposed over 4 calls (2 a call)" },
        { SamplerFault.WrongSetSize, "SampleSet returned 2 masks, but SetSize is 1" },
    };

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(SamplerFaults))]
    public void The_sampler_contract_names_the_plugin_and_the_fault(SamplerFault fault, string problem)
    {
        var error = Should.Throw<ContractException>(() => SamplerContract.Check(() => new BrokenSampler(fault)));
        error.Plugin.ShouldBe("sampler 'broken-sampler' (BrokenSampler)");
        error.Problem.ShouldStartWith(problem);
        SamplerContract.Check(() => new BrokenSampler(SamplerFault.None));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void A_sampler_declared_seed_independent_must_be_and_a_random_one_must_not()
    {
        var error = Should.Throw<ContractException>(() => SamplerContract.Check(() => new BrokenSampler(SamplerFault.None), new SamplerExpectations { SeedIndependent = "all kept" }));
        error.Problem.ShouldBe("declared seed-independent (all kept) but seeds 5 and 6 drew different masks");
    }

    /// <summary>A perturbation that adds noise; <paramref name="fault"/> breaks it.</summary>
    [Plugin("broken-noise", PluginKind.Perturbation)]
    public sealed class BrokenPerturbation(string fault) : IPerturbation
    {
        public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context)
        {
            using var _ = no_grad();
            foreach (var w in weights)
            {
                using var noise = fault == "global" ? randn(w.Weight.shape) : randn(w.Weight.shape, generator: context.Generator);
                w.Weight.add_(noise.mul_(0.1));
                if (fault == "changes-mask") mask.Masks[w.Name].zero_();
                if (fault == "not-binary") w.Mask = full(w.Weight.shape, 0.5f);
            }
        }

        public void OnTuningStep(IReadOnlyList<IMaskableWeight> weights, TrainingProgress progress)
        {
            if (fault == "leaks") _ = weights[0].Weight.sum();
        }
    }

    [Trait("Category", "unit")]
    [Theory]
    [InlineData("global", "two fresh instances with the same seed made different children")]
    [InlineData("changes-mask", "changed the ChildMask it was given ('conv.weight')")]
    [InlineData("not-binary", "after Apply: the mask of 'conv.weight' has values other than 0 and 1")]
    [InlineData("leaks", "OnTuningStep and a training forward pass left 4 tensor(s) undisposed over 4 calls (1 a call)")]
    public void The_perturbation_contract_names_the_plugin_and_the_fault(string fault, string problem)
    {
        var error = Should.Throw<ContractException>(() => PerturbationContract.Check(() => new BrokenPerturbation(fault)));
        error.Plugin.ShouldBe("perturbation 'broken-noise' (BrokenPerturbation)");
        error.Problem.ShouldStartWith(problem);
        PerturbationContract.Check(() => new BrokenPerturbation("none"));
    }

    private sealed class CountingSchedule : ISchedule
    {
        private int _calls;

        public ScheduleValue At(long step, long totalSteps) => new(0.1 / (1 + _calls++));
    }

    private sealed class LeakyMetric : IMetric
    {
        public IReadOnlyDictionary<string, double> Compute(MetricInput input) => new Dictionary<string, double> { ["mean_p"] = input.EnsembleProbabilities.mean().ToDouble() };
    }

    private sealed class UnnormalisedCombiner : IEnsembleCombiner
    {
        public Tensor Combine(Tensor memberProbabilities) => memberProbabilities.sum([0]);
    }

    private sealed class NoStepOptimizer : IOptimizerFactory
    {
        public ITrainableOptimizer Create(IReadOnlyList<TorchSharp.Modules.Parameter> parameters, double learningRate) =>
            new SubnetworkEnsembles.Optimizers.SgdOptimizer(new() { Momentum = 0 }).Create([.. parameters.Take(1)], learningRate);
    }

    private sealed class RangeOptions : IValidatableOptions
    {
        public double KeepFraction { get; init; } = 0.5;

        public IEnumerable<string> Validate()
        {
            if (KeepFraction is <= 0 or > 1) yield return $"must be in (0, 1], got {KeepFraction}";
        }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Schedules_metrics_combiners_optimizers_and_options_are_checked()
    {
        Should.Throw<ContractException>(() => ScheduleContract.Check(() => new CountingSchedule())).Problem
            .ShouldBe("At(0, 100) is lr 0.1 asked in order but lr 0.001 asked backwards: the value must depend only on the step");
        Should.Throw<ContractException>(() => MetricContract.Check(() => new LeakyMetric())).Problem.ShouldStartWith("Compute left 4 tensor(s) undisposed over 4 calls");
        Should.Throw<ContractException>(() => CombinerContract.Check(() => new UnnormalisedCombiner())).Problem.ShouldStartWith("rows of the combined probabilities sum to 1 ± 2");
        Should.Throw<ContractException>(() => OptimizerContract.Check(() => new NoStepOptimizer())).Problem.ShouldBe("the optimiser holds 1 parameters, it was given 4");
        Should.Throw<ContractException>(() => OptionsContract.Rejects(new RangeOptions { KeepFraction = 2 }, "keep_fraction")).Problem
            .ShouldBe("a bad value of 'keep_fraction' was rejected without naming the key: must be in (0, 1], got 2");
        Should.Throw<ContractException>(() => OptionsContract.Rejects(new RangeOptions { KeepFraction = 1 }, "keep_fraction")).Problem
            .ShouldBe("a bad value of 'keep_fraction' was accepted: Validate() reported no problem");
        OptionsContract.DefaultsAreValid<RangeOptions>();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Fake_weights_apply_their_mask_and_refuse_one_of_another_shape()
    {
        using var model = MaskableModel.ConvNet(seed: 2);
        var conv = model.Weights[0];
        conv.Weight.shape.ShouldBe([4L, 1, 3, 3]);
        using var half = zeros(4, 1, 3, 3);
        half[0] = ones(1, 3, 3);
        conv.Mask = half;
        using var effective = conv.EffectiveWeight(training: false);
        effective[1].abs().sum().ToDouble().ShouldBe(0);
        effective[0].abs().sum().ToDouble().ShouldBeGreaterThan(0);
        Should.Throw<ArgumentException>(() => conv.Mask = ones(36)).Message.ShouldBe("conv.weight: a mask of shape [36] for a weight of shape [4, 1, 3, 3]");
        using var batch = TestBatches.Classification(model.InputShape, model.Classes, rows: 5);
        using var logits = model.Forward(batch.Inputs);
        logits.shape.ShouldBe([5L, 4]);
    }

    /// <summary>A model that keeps TorchSharp's default initialisation (torch's global generator), not the context's.</summary>
    private sealed class GlobalInitModel : IModelFactory
    {
        public nn.Module<Tensor, Tensor> Build(ModelContext context) => nn.Sequential(nn.Flatten(), nn.Linear(context.InputShape.Aggregate(1L, (a, b) => a * b), context.Classes));
    }

    /// <summary>A dataset drawn from torch's global generator instead of the split seed.</summary>
    private sealed class GlobalRandomDataset : IDatasetSource
    {
        public DatasetSplits Load(DatasetContext context) => new()
        {
            Train = new TensorSplit(randn(20, 2), randint(0, 2, [20])),
            Test = new TensorSplit(randn(10, 2), randint(0, 2, [10])),
            InputShape = [2],
            ClassNames = ["a", "b"],
        };
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Models_and_datasets_must_draw_from_the_seed_they_are_given()
    {
        Should.Throw<ContractException>(() => ModelContract.Check(() => new GlobalInitModel(), [2], 3)).Message
            .ShouldBe("model GlobalInitModel: two builds with generators of the same seed have different parameters; initialise from context.Generator (ParameterInit)");
        Should.Throw<ContractException>(() => DatasetContract.Check(() => new GlobalRandomDataset())).Message
            .ShouldBe("dataset GlobalRandomDataset: two loads with the same split seed give different train rows; draw only from context.SplitSeed");
    }
}

