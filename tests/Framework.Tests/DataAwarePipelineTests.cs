using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Optimizers;
using SubnetworkEnsembles.Perturbations;
using SubnetworkEnsembles.Samplers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>Records every hook call of the children it makes (prunes like <c>prune</c>).</summary>
[Plugin("recording", PluginKind.Perturbation)]
public sealed class RecordingPerturbation : IPerturbation
{
    public static List<string> Calls { get; } = [];

    public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context)
    {
        Calls.Add($"apply {context.ChildIndex} network:{context.Network is not null} rows:{context.Network?.TrainingRows}");
        new PrunePerturbation().Apply(weights, mask, context);
    }

    public void OnTuningStep(IReadOnlyList<IMaskableWeight> weights, TrainingProgress progress) =>
        Calls.Add($"before {progress.Step} grad:{weights[0].Weight.grad is not null}");

    public void AfterTuningStep(IReadOnlyList<IMaskableWeight> weights, TrainingProgress progress)
    {
        using var sum = weights[0].Weight.grad?.abs().sum();
        Calls.Add($"after {progress.Step} grad:{sum is not null && sum.ToDouble() > 0}");
    }
}

/// <summary>Returns masks of a wrong shape.</summary>
[Plugin("wrong-shape", PluginKind.Sampler)]
public sealed class WrongShapeSampler : ISubnetworkSampler
{
    public int SetSize => 1;

    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator) =>
        [new ChildMask(weights.ToDictionary(w => w.Name, w => ones(w.Weight.shape[0], 3)))];
}

/// <summary>Returns 0.5 where a mask must be 0 or 1.</summary>
[Plugin("halves", PluginKind.Sampler)]
public sealed class HalvesSampler : ISubnetworkSampler
{
    public int SetSize => 1;

    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator) =>
        [new ChildMask(weights.ToDictionary(w => w.Name, w => full(w.Weight.shape, 0.5f)))];
}

/// <summary>Says its set has 2 children and returns 1 mask.</summary>
[Plugin("short-set", PluginKind.Sampler)]
public sealed class ShortSetSampler : ISubnetworkSampler
{
    public int SetSize => 2;

    public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator) =>
        [new ChildMask(weights.ToDictionary(w => w.Name, w => ones(w.Weight.shape)))];
}

/// <summary>
/// Data-aware ϕ/ξ inside the pipeline, in process on small spirals: the hook order and the context a perturbation gets,
/// a data-aware sampler in the trust-region search with <c>tuning: none</c>, and the host's check of what a sampler returns.
/// </summary>
[Trait("Category", "unit")]
public sealed class DataAwarePipelineTests
{
    private static PluginCatalog Catalog() => TestData.Catalog()
        .Register<RecordingPerturbation>().Register<WrongShapeSampler>().Register<HalvesSampler>().Register<ShortSetSampler>();

    private static ExperimentConfig Config(PluginSpec sampler, PluginSpec perturbation, TrainingConfig? tuning, TrustRegionConfig? region = null) => new()
    {
        Name = "data-aware",
        Data = new DataConfig { Dataset = PluginSpec.Named("spirals", new SpiralsDatasetOptions { Points = 600, TestPoints = 100 }), Validation = 200 },
        Model = PluginSpec.Named("mlp", new MlpOptions { Hidden = [16, 16] }),
        Parent = new ParentConfig { Epochs = 3, BatchSize = 64, Optimizer = PluginSpec.Named("adam"), Schedule = PluginSpec.Named("constant", new ConstantScheduleOptions { Lr = 0.01 }) },
        Children = new ChildrenConfig { Count = 2, Sampler = sampler, Perturbation = perturbation, Tuning = tuning, TrustRegion = region },
        Threads = 1,
    };

    private static TrainingConfig Tuning(int epochs) => new()
    {
        Epochs = epochs, BatchSize = 200, Optimizer = PluginSpec.Named("adam"), Schedule = PluginSpec.Named("constant", new ConstantScheduleOptions { Lr = 0.001 }),
    };

    [Fact]
    public async Task Perturbation_hooks_run_in_the_documented_order_with_the_network_and_the_steps_gradients()
    {
        using var dir = new TempDir();
        RecordingPerturbation.Calls.Clear();
        var config = Config(PluginSpec.Named("snip", new SnipSamplerOptions { Sparsity = 0.5 }), PluginSpec.Named("recording"), Tuning(2));
        await Experiment.FromConfig(config).WithPlugins(Catalog()).RunAsync(Path.Combine(dir.Path, "run"));
        // 400 training rows in batches of 200: 2 steps per epoch, 4 steps per child.
        string[] child = ["network:True rows:400", "before 0 grad:False", "after 0 grad:True", "before 1 grad:True", "after 1 grad:True",
            "before 2 grad:True", "after 2 grad:True", "before 3 grad:True", "after 3 grad:True"];
        RecordingPerturbation.Calls.ShouldBe([$"apply 0 {child[0]}", .. child[1..], $"apply 1 {child[0]}", .. child[1..]]);
    }

    [Fact]
    public async Task A_data_aware_sampler_works_in_the_trust_region_search_without_tuning()
    {
        using var dir = new TempDir();
        var region = new TrustRegionConfig { Sigmas = [0.001, 0.05], Sparsities = [0.5, 0.9], Samples = 100, Draws = 1, TargetKl = 0.02 };
        var config = Config(PluginSpec.Named("fisher", new FisherSamplerOptions { Batches = 2 }), PluginSpec.Named("noise"), null, region);
        var results = await Experiment.FromConfig(config).WithPlugins(Catalog()).RunAsync(Path.Combine(dir.Path, "run"));
        var table = results.TrustRegion!.Table;
        table.Select(r => r.Sparsity).ShouldBe([0.5, 0.5, 0.9, 0.9], tolerance: 0.01);
        table[1].Kl.ShouldBeGreaterThan(table[0].Kl, "more noise moves the child further from the parent");
        results.Members.Count.ShouldBe(2);
        results.Members.ShouldAllBe(m => m.History == null || m.History.Count == 0);
    }

    [Theory]
    [InlineData("wrong-shape", "member 0 of the set, mask 'layers.fc1.weight': shape [16, 3], but the weight's is [16, 2]")]
    [InlineData("halves", "member 0 of the set, mask 'layers.fc1.weight': 32 values are neither 0 nor 1 (e.g. 0.5)")]
    [InlineData("short-set", "returned 1 masks for a set of 2 (its SetSize)")]
    public async Task What_a_sampler_returns_is_checked_and_a_mismatch_names_the_plugin(string sampler, string expected)
    {
        using var dir = new TempDir();
        var config = Config(PluginSpec.Named(sampler), PluginSpec.Named("prune"), null);
        var e = await Should.ThrowAsync<PluginCallException>(() => Experiment.FromConfig(config).WithPlugins(Catalog()).RunAsync(Path.Combine(dir.Path, "run")));
        e.Message.ShouldStartWith($"sampler '{sampler}' (");
        e.Message.ShouldContain($"failed in SampleSet: {expected}");
        e.ExitCode.ShouldBe(3);
    }
}
