using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Host.Configuration;
using SubnetworkEnsembles.Optimizers;
using SubnetworkEnsembles.Samplers;
using Xunit;

namespace SubnetworkEnsembles.Tests;

public class ConfigurationTests
{
    private static readonly PluginCatalog Catalog = PluginCatalog.Discover([Repo.PluginsDirectory], NullLogger.Instance);

    private static ConfigException Problem(string yaml, params string[] overrides)
    {
        using var dir = new TempDir();
        string path = dir.File("bad.yaml", yaml);
        return Should.Throw<ConfigException>(() =>
        {
            var (_, config, binder) = ExperimentLoader.Read(path, overrides);
            ExperimentLoader.Resolve(config, binder, Catalog);
        });
    }

    private static ExperimentConfig Valid(string yaml, params string[] overrides)
    {
        using var dir = new TempDir();
        var (_, config, binder) = ExperimentLoader.Read(dir.File("ok.yaml", yaml), overrides);
        ExperimentLoader.Resolve(config, binder, Catalog);
        return config;
    }

    /// <summary>An option of a bound plugin. The options object lives in the plugin's own load context, so its type is
    /// not the test's reference to the same class: read it by name.</summary>
    private static object? Option(PluginSpec spec, string property) => spec.BoundOptions!.GetType().GetProperty(property)!.GetValue(spec.BoundOptions);

    [Trait("Category", "unit")]
    [Fact]
    public void The_built_in_plugins_are_discovered_from_disk_by_name()
    {
        Catalog.NamesOf(Abstractions.PluginKind.Sampler).ShouldBe(["bernoulli", "fisher", "full", "grasp", "magnitude", "partition", "snip", "structured", "synflow"]);
        Catalog.NamesOf(Abstractions.PluginKind.Perturbation).ShouldBe(["identity", "iterative-prune", "mirrored-noise", "noise", "prune", "random-anneal", "rigl", "temperature-anneal"]);
        Catalog.NamesOf(Abstractions.PluginKind.Optimizer).ShouldBe(["adam", "adamw", "sgd"]);
        Catalog.NamesOf(Abstractions.PluginKind.Schedule).ShouldBe(["constant", "cosine", "cyclic-cosine", "linear-decay", "one-cycle", "step", "triangular"]);
        Catalog.NamesOf(Abstractions.PluginKind.Metric).ShouldBe(["accuracy", "brier", "correlation", "disagreement", "ece", "kl-diversity", "nll"]);
        Catalog.NamesOf(Abstractions.PluginKind.Combiner).ShouldBe(["mean", "mean-logits", "vote"]);
        // Loaded from the plugin folders, not from the test's own references.
        Catalog.Find(Abstractions.PluginKind.Sampler, "partition")!.AssemblyPath.ShouldContain(Path.Combine("plugins", "SubnetworkEnsembles.Samplers"));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Yaml_options_are_bound_to_the_plugin_options_class()
    {
        var config = Valid("""
            children:
              sampler: { type: partition, k: 3 }
              tuning:
                schedule: { type: one-cycle, lr_max: 0.05, warmup: 0.2 }
            model: { type: lenet, size: medium }
            """);
        Option(config.Children.Sampler, nameof(PartitionSamplerOptions.K)).ShouldBe(3);
        var schedule = config.Children.Tuning!.Schedule;
        schedule.BoundOptions!.GetType().FullName.ShouldBe(typeof(OneCycleScheduleOptions).FullName);
        Option(schedule, nameof(OneCycleScheduleOptions.LrMax)).ShouldBe(0.05);
        Option(schedule, nameof(OneCycleScheduleOptions.Warmup)).ShouldBe(0.2);
        Option(schedule, nameof(OneCycleScheduleOptions.LrInit)).ShouldBe(0.001);   // default kept
        config.Model.Type.ShouldBe("lenet");
        Option(config.Model, nameof(LeNetOptions.Size))!.ToString().ShouldBe("Medium");   // the plugin is loaded from disk: its own LeNetSize
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Run_configs_of_the_closed_model_and_data_blocks_still_load_and_other_values_are_still_refused()
    {
        // As sne wrote config.yaml before models and datasets were plugins: every key of both closed blocks.
        const string old = """
            data:
              dataset: spirals
              directory: /usr/share/datasets/fashion-mnist
              validation: 250
              points: 2500
              test_points: 250
              noise: 1
            model:
              type: mlp
              hidden: [64, 64, 64]
              size: small
              dropout: 0
            """;
        var config = Valid(old);
        config.Data.Dataset.Type.ShouldBe("spirals");
        config.Data.Validation.ShouldBe(250);
        Option(config.Data.Dataset, "Points").ShouldBe(2500);
        Option(config.Model, "Hidden").ShouldBe(new List<int> { 64, 64, 64 });
        // Only the old default is taken for an unused key: any other value is an unknown option, as for any config.
        Problem(old.Replace("size: small", "size: large", StringComparison.Ordinal)).Message.ShouldContain("model.size: unknown key 'size'");
        Problem(old.Replace("directory: /usr/share/datasets/fashion-mnist", "directory: /data", StringComparison.Ordinal)).Message
            .ShouldContain("data.directory: unknown key 'directory'");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Set_overrides_replace_values_and_create_keys()
    {
        var config = Valid("children: { count: 6 }\n", "children.count=8", "children.sampler={type: bernoulli, sparsity: 0.3}", "model.hidden=[64, 32]");
        config.Children.Count.ShouldBe(8);
        config.Children.Sampler.Type.ShouldBe("bernoulli");
        Option(config.Children.Sampler, nameof(BernoulliSamplerOptions.Sparsity)).ShouldBe(0.3);
        Option(config.Model, nameof(MlpOptions.Hidden)).ShouldBe(new List<int> { 64, 32 });
    }

    [Trait("Category", "unit")]
    [Fact]
    public void An_unknown_plugin_name_lists_the_known_ones_with_file_line_and_column()
    {
        var e = Problem("seed: 1\nchildren:\n  sampler: { type: partion, k: 2 }\n");
        e.Message.ShouldContain("bad.yaml:3:12");
        e.Message.ShouldContain("children.sampler.type");
        e.Message.ShouldContain("unknown sampler 'partion'");
        e.Message.ShouldContain("did you mean 'partition'?");
        e.Message.ShouldContain("known: bernoulli, fisher, full, grasp, magnitude, partition, snip, structured, synflow");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void A_yaml_syntax_error_names_the_line_and_column()
    {
        var e = Problem("seed: 1\nchildren:\n  count: [1, 2\n  sampler: prune\n");
        e.Message.ShouldContain("bad.yaml:");
        e.Message.ShouldContain("YAML syntax error");
        e.Problems.Single().Location.Line.ShouldBeGreaterThanOrEqualTo(3);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void An_unknown_key_suggests_the_nearest_valid_key()
    {
        var e = Problem("children:\n  cuont: 4\n");
        e.Message.ShouldContain("bad.yaml:2:3: children.cuont: unknown key 'cuont' (did you mean 'count'?)");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void An_unknown_plugin_option_suggests_the_nearest_option()
    {
        var e = Problem("children:\n  tuning:\n    schedule: { type: one-cycle, lr_mx: 0.1 }\n");
        e.Message.ShouldContain("children.tuning.schedule.lr_mx: unknown key 'lr_mx' (did you mean 'lr_max'?)");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Wrong_types_and_out_of_range_values_are_all_reported_at_once()
    {
        var e = Problem("""
            seed: abc
            parent:
              epochs: 0
            children:
              sampler: { type: partition, k: 1 }
              tuning:
                batch_size: -5
            """);
        e.Problems.Count.ShouldBe(1, e.Message);   // type errors stop before the range checks
        e.Message.ShouldContain("bad.yaml:1:7: seed: expected an integer, got 'abc'");

        var ranges = Problem("""
            parent:
              epochs: 0
            children:
              sampler: { type: partition, k: 1 }
              tuning:
                batch_size: -5
            """);
        ranges.Problems.Count.ShouldBe(3, ranges.Message);
        ranges.Message.ShouldContain("bad.yaml:2:3: parent.epochs: must be ≥ 1, got 0");
        ranges.Message.ShouldContain("bad.yaml:4:31: children.sampler.k: must be ≥ 2");
        ranges.Message.ShouldContain("bad.yaml:6:5: children.tuning.batch_size: must be ≥ 1, got -5");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Empty_binary_directory_and_missing_files_are_clear_errors()
    {
        using var dir = new TempDir();
        Should.Throw<ConfigException>(() => ExperimentLoader.Read(dir.File("empty.yaml", "  \n"), [])).Message.ShouldContain("is empty");
        Should.Throw<ConfigException>(() => ExperimentLoader.Read(dir.File("bin.yaml", "seed: 1\0\0"), [])).Message.ShouldContain("binary");
        Should.Throw<ConfigException>(() => ExperimentLoader.Read(dir.Path, [])).Message.ShouldContain("is a directory");
        Should.Throw<ConfigException>(() => ExperimentLoader.Read(Path.Combine(dir.Path, "nope.yaml"), [])).Message.ShouldContain("file not found");
        Should.Throw<ConfigException>(() => ExperimentLoader.Read(dir.File("list.yaml", "- a\n- b\n"), [])).Message.ShouldContain("mapping");
        Should.Throw<ConfigException>(() => ExperimentLoader.Read(dir.File("dup.yaml", "seed: 1\nseed: 2\n"), [])).Message.ShouldContain("dup.yaml");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Yaml_tags_never_instantiate_types()
    {
        // YAML's core type tags are plain data; a tag naming anything else is refused, never instantiated.
        var config = Valid("model: { type: mlp }\nseed: !!int 3\n");
        config.Model.ShouldBeOfType<PluginSpec>().Type.ShouldBe("mlp");
        config.Seed.ShouldBe(3);
        Problem("model: !System.Diagnostics.Process { type: mlp }\n").Message.ShouldContain("bad.yaml:1:8: YAML tags other than the core types");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void The_resolved_config_lists_every_default_and_reads_back_to_the_same_experiment()
    {
        var config = Valid(File.ReadAllText(Repo.Example("fashion-mnist-sparse.yaml")));
        string yaml = ResolvedConfigWriter.ToYaml(config);
        yaml.ShouldContain("beta2: 0.999");               // Adam defaults that the example leaves out
        yaml.ShouldContain("momentum_max: 0.95");        // a default that the example does not spell out
        var again = Valid(yaml);
        ResolvedConfigWriter.ToYaml(again).ShouldBe(yaml);
    }
}
