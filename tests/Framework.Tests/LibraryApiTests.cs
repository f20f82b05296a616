using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Metrics;
using SubnetworkEnsembles.Optimizers;
using SubnetworkEnsembles.Samplers;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>The library's public entry points: in-process plugin registration and resolving a configuration made in C#.</summary>
[Trait("Category", "unit")]
public sealed class LibraryApiTests
{
    /// <summary>A class without [Plugin]: not registrable.</summary>
    public sealed class NotAPlugin;

    /// <summary>Declared a sampler but implements no sampler contract.</summary>
    [Plugin("liar", PluginKind.Sampler)]
    public sealed class Liar;

    private static PluginCatalog BuiltIns() => TestData.Catalog();

    [Fact]
    public void Registering_in_process_makes_a_plugin_findable_by_kind_and_name_and_refuses_non_plugins()
    {
        var catalog = new PluginCatalog().Register<AccuracyMetric>();
        catalog.Find(PluginKind.Metric, "accuracy")!.ImplementationType.ShouldBe(typeof(AccuracyMetric));
        catalog.NamesOf(PluginKind.Metric).ShouldBe(["accuracy"]);
        Should.Throw<PluginLoadException>(() => catalog.Register<AccuracyMetric>()).Message.ShouldContain("two Metric plugins are named 'accuracy'");
        Should.Throw<PluginLoadException>(() => catalog.Register<NotAPlugin>()).Message.ShouldContain("mark it [Plugin(name, kind)]");
        Should.Throw<PluginLoadException>(() => catalog.Register<Liar>()).Message.ShouldContain("does not implement ISubnetworkSampler");
        BuiltIns().NamesOf(PluginKind.Sampler).ShouldBe(["bernoulli", "fisher", "full", "grasp", "magnitude", "partition", "snip", "structured", "synflow"]);
    }

    [Fact]
    public void Resolving_a_config_made_in_code_fills_default_options_and_sets_kinds()
    {
        var config = new ExperimentConfig { Children = new ChildrenConfig { Sampler = PluginSpec.Named("partition") } };
        PluginResolution.Resolve(config, BuiltIns());
        config.Children.Sampler.Kind.ShouldBe(PluginKind.Sampler);
        config.Children.Sampler.BoundOptions.ShouldBeOfType<PartitionSamplerOptions>().K.ShouldBe(2);
        config.Metrics[1].Kind.ShouldBe(PluginKind.Metric);
        Experiment.FromConfig(config).ConfigText.ShouldContain("type: partition");
    }

    [Fact]
    public void Resolving_a_config_made_in_code_reports_every_problem_by_key_path_with_exit_code_2()
    {
        var config = new ExperimentConfig
        {
            Children = new ChildrenConfig
            {
                Sampler = PluginSpec.Named("partition", new AdamOptimizerOptions()),
                Perturbation = PluginSpec.Named("prunee"),
                Keep = 2,
                SelectBy = SelectionMetric.Nll,
            },
            Metrics = [PluginSpec.Named("accuracy"), PluginSpec.Named("ece", new EceMetricOptions { Bins = 0 })],
        };
        var e = Should.Throw<ConfigException>(() => Experiment.FromConfig(config).WithPlugins(BuiltIns()).Validate());
        e.ExitCode.ShouldBe(2);
        var paths = e.Problems.Select(p => p.Location.KeyPath).ToList();
        paths.ShouldContain("children.sampler");
        e.Problems.Single(p => p.Location.KeyPath == "children.perturbation.type").Message.ShouldContain("did you mean 'prune'?");
        paths.ShouldContain(p => p.StartsWith("metrics[1]", StringComparison.Ordinal));
        e.Problems.Single(p => p.Location.KeyPath == "children.select_by").Message.ShouldContain("nll, which is not among metrics");
    }

    [Fact]
    public void An_experiment_without_plugins_says_how_to_give_them()
    {
        var e = Should.Throw<InvalidOperationException>(() => Experiment.FromConfig(new ExperimentConfig()).Validate());
        e.Message.ShouldContain("WithPlugins(catalog)");
    }
}
