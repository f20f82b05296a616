using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Host.Configuration;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// Switching a block's plugin no longer merges the old plugin's options into the new one (where they were unknown keys):
/// a file that <c>extends:</c> another replaces the block; <c>--set …type=</c>, an environment override or a sweep keeps
/// the old options the new plugin also has and drops the rest. Keeping the plugin still merges option by option.
/// </summary>
public class PluginSwitchConfigTests
{
    private static readonly PluginCatalog Catalog = PluginCatalog.Discover([Repo.PluginsDirectory], NullLogger.Instance);

    private const string Base = """
        data: { dataset: csv, path: rows.csv, test_path: test.csv, label: species, validation: 20, train_subset: 7 }
        children:
          sampler: { type: partition, k: 4 }
          perturbation: { type: noise, sigma: 0.02 }
        """;

    /// <summary>Writes base.yaml and (when given) child.yaml extending it; reads and resolves the child (or the base) with <paramref name="overrides"/>.</summary>
    private static ExperimentConfig Load(string? child, IReadOnlyList<(string Key, string Value)>? sweepPoint = null, IReadOnlyDictionary<string, string>? environment = null,
        params string[] overrides)
    {
        using var dir = new TempDir();
        dir.File("base.yaml", Base);
        string path = child is null ? Path.Combine(dir.Path, "base.yaml") : dir.File("child.yaml", "extends: base.yaml\n" + child);
        var point = sweepPoint?.Select(p => (p.Key, (YamlNode)new YamlScalarNode(p.Value))).ToList();
        var (_, config, binder) = ExperimentLoader.Read(path, overrides, point, environment ?? new Dictionary<string, string>());
        ExperimentLoader.Resolve(config, binder, Catalog);
        return config;
    }

    private static object? Option(PluginSpec spec, string property) => spec.BoundOptions!.GetType().GetProperty(property)!.GetValue(spec.BoundOptions);

    [Trait("Category", "unit")]
    [Fact]
    public void Extends_with_another_sampler_type_drops_the_base_samplers_options()
    {
        var config = Load("children:\n  sampler: { type: bernoulli, sparsity: 0.3 }\n");
        config.Children.Sampler.Type.ShouldBe("bernoulli");
        Option(config.Children.Sampler, "Sparsity").ShouldBe(0.3);
        // The sibling block of the same plugin still merges key by key.
        config.Children.Perturbation.Type.ShouldBe("noise");
        Option(config.Children.Perturbation, "Sigma").ShouldBe(0.02);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Extends_with_the_same_sampler_type_still_merges_its_options()
    {
        var config = Load("children:\n  sampler: { type: partition, structure: neurons }\n");
        Option(config.Children.Sampler, "K").ShouldBe(4);
        Option(config.Children.Sampler, "Structure")!.ToString().ShouldBe("Neurons");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Extends_with_another_dataset_keeps_the_hosts_data_keys_and_drops_the_old_datasets_options()
    {
        var config = Load("data: { dataset: spirals, points: 600 }\n");
        config.Data.Dataset.Type.ShouldBe("spirals");
        Option(config.Data.Dataset, "Points").ShouldBe(600);
        config.Data.Validation.ShouldBe(20);
        config.Data.TrainSubset.ShouldBe(7);
    }

    [Trait("Category", "unit")]
    [Theory]
    [InlineData("set")]
    [InlineData("environment")]
    [InlineData("sweep")]
    public void Overriding_the_type_drops_the_old_options_by_set_environment_or_sweep(string how)
    {
        var config = how switch
        {
            "set" => Load(null, overrides: ["children.sampler.type=bernoulli"]),
            "environment" => Load(null, environment: new Dictionary<string, string> { ["SNE__CHILDREN__SAMPLER__TYPE"] = "bernoulli" }),
            _ => Load(null, sweepPoint: [("children.sampler.type", "bernoulli")]),
        };
        config.Children.Sampler.Type.ShouldBe("bernoulli");
        Option(config.Children.Sampler, "Sparsity").ShouldBe(0.5);   // its default: nothing of partition's k: 4 is left
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Options_set_for_the_new_plugin_survive_the_type_switch_in_either_order()
    {
        var before = Load(null, overrides: ["children.sampler.sparsity=0.25", "children.sampler.type=bernoulli"]);
        Option(before.Children.Sampler, "Sparsity").ShouldBe(0.25);
        var after = Load(null, overrides: ["children.sampler.type=bernoulli", "children.sampler.sparsity=0.75"]);
        Option(after.Children.Sampler, "Sparsity").ShouldBe(0.75);
        // Setting the type it already has keeps the options from the file.
        var same = Load(null, overrides: ["children.sampler.type=partition"]);
        Option(same.Children.Sampler, "K").ShouldBe(4);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void An_override_that_switches_the_plugin_keeps_the_options_the_new_plugin_also_has()
    {
        // bernoulli → structured at the same sparsity (both have it), as a sweep over children.sampler.type compares them.
        var config = Load("children:\n  sampler: { type: bernoulli, sparsity: 0.3 }\n", overrides: ["children.sampler.type=structured"]);
        config.Children.Sampler.Type.ShouldBe("structured");
        Option(config.Children.Sampler, "Sparsity").ShouldBe(0.3);
        var swept = Load("children:\n  sampler: { type: bernoulli, sparsity: 0.3 }\n", sweepPoint: [("children.sampler.type", "structured")]);
        Option(swept.Children.Sampler, "Sparsity").ShouldBe(0.3);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void A_key_the_new_plugin_lacks_is_still_an_error_when_the_user_sets_it_after_the_switch()
    {
        using var dir = new TempDir();
        string path = dir.File("base.yaml", Base);
        var e = Should.Throw<ConfigException>(() =>
        {
            var (_, config, binder) = ExperimentLoader.Read(path, ["children.sampler.type=bernoulli", "children.sampler.k=3"], environment: new Dictionary<string, string>());
            ExperimentLoader.Resolve(config, binder, Catalog);
        });
        e.Message.ShouldContain("children.sampler.k: unknown key 'k'");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Switching_the_dataset_by_set_keeps_the_hosts_data_keys()
    {
        var config = Load(null, overrides: ["data.dataset=spirals"]);
        config.Data.Dataset.Type.ShouldBe("spirals");
        config.Data.Validation.ShouldBe(20);
        config.Data.TrainSubset.ShouldBe(7);
    }
}
