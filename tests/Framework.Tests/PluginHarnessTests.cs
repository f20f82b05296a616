using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Host.Configuration;
using SubnetworkEnsembles.Testing;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// One harness run over every plugin registered on disk (timm's test_optim style): each is created through the
/// host's factory with its default options, its options reject wrongly typed values with the key named (a plugin
/// without options refuses every key), and two fresh instances with the same seed behave the same while another seed
/// changes what a random plugin draws.
/// </summary>
public class PluginHarnessTests
{
    private static readonly PluginCatalog Catalog = PluginCatalog.Discover([Repo.PluginsDirectory], NullLogger.Instance);
    private static readonly ServiceProvider Services = new ServiceCollection().AddLogging().AddSubnetworkPlugins(Catalog).BuildServiceProvider();

    public static TheoryData<string, string> AllPlugins()
    {
        var data = new TheoryData<string, string>();
        foreach (var d in Catalog.All) data.Add(d.Kind.ToString(), d.Name);
        return data;
    }

    private static PluginSpec Spec(PluginKind kind, string name, string yamlOptions = "{}")
    {
        var descriptor = Catalog.Find(kind, name)!;
        var options = YamlDocumentReader.Parse("o: " + yamlOptions, "test").Children[new YamlScalarNode("o")] as YamlMappingNode ?? new YamlMappingNode();
        var binder = new ConfigBinder("test");
        object? bound = descriptor.OptionsType is null ? null : binder.BindObject(descriptor.OptionsType, options, name);
        binder.ThrowIfProblems();
        return new PluginSpec { Type = name, Kind = kind, BoundOptions = bound };
    }

    private static T Create<T>(PluginKind kind, string name, string yamlOptions = "{}") where T : class =>
        Services.GetRequiredService<PluginFactory>().Create<T>(Spec(kind, name, yamlOptions));

    [Trait("Category", "unit")]
    [Fact]
    public void The_catalog_holds_every_plugin_of_the_method_catalogue() => AllPlugins().Count.ShouldBe(54);

    /// <summary>Plugins that cannot have valid defaults (dataset plugins need their files named): the least YAML that makes them valid.</summary>
    private static readonly Dictionary<string, string> OptionsWithoutDefaults = new()
    {
        ["idx"] = "{ train_images: a, train_labels: b, test_images: c, test_labels: d }",
        ["npy"] = "{ features: x.npy, labels: y.npy, fractions: [0.8, 0.1, 0.1] }",
        ["csv"] = "{ path: table.csv, fractions: [0.8, 0.1, 0.1] }",
        ["image-folder"] = "{ directory: images }",
    };

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(AllPlugins))]
    public void Every_plugin_is_created_from_disk_with_valid_default_options(string kind, string name)
    {
        var k = Enum.Parse<PluginKind>(kind);
        var descriptor = Catalog.Find(k, name)!;
        PluginCatalog.ContractOf(k).IsAssignableFrom(descriptor.ImplementationType).ShouldBeTrue();
        if (OptionsWithoutDefaults.TryGetValue(name, out var required))
            ((IValidatableOptions)Spec(k, name, required).BoundOptions!).Validate().ShouldBeEmpty($"{name} with {required}");
        else if (descriptor.OptionsType is not null && Activator.CreateInstance(descriptor.OptionsType) is IValidatableOptions defaults)
            defaults.Validate().ShouldBeEmpty($"defaults of {name}");
        var instance = Services.GetRequiredService<PluginFactory>().Create<object>(Spec(k, name));
        instance.GetType().ShouldBe(descriptor.ImplementationType);
        descriptor.Description.ShouldNotBeNullOrWhiteSpace();
    }

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(AllPlugins))]
    public void Every_option_rejects_a_wrongly_typed_value_naming_the_key(string kind, string name)
    {
        var descriptor = Catalog.Find(Enum.Parse<PluginKind>(kind), name)!;
        if (descriptor.OptionsType is null)
        {
            Any_option_key_is_refused_by_a_plugin_without_options(descriptor);
            return;
        }
        var typed = descriptor.OptionsType.GetProperties().Where(p => p.CanWrite).ToList();
        typed.ShouldNotBeEmpty($"{name} has an options class; its options must be checkable");
        foreach (var property in typed)
        {
            string key = ConfigNames.Key(property.Name);
            // Any scalar is a valid string: a text option is given a mapping instead.
            string bad = property.PropertyType == typeof(string) ? "{ not: valid }" : "not-a-valid-value";
            var options = (YamlMappingNode)YamlDocumentReader.Parse($"o: {{ {key}: {bad} }}", "bad.yaml").Children[new YamlScalarNode("o")];
            var binder = new ConfigBinder("bad.yaml");
            binder.BindObject(descriptor.OptionsType, options, $"children.{name}");
            var problem = binder.Problems.ShouldHaveSingleItem($"{name}.{key}");
            problem.Location.KeyPath.ShouldBe($"children.{name}.{key}");
            problem.Message.ShouldStartWith("expected ");
            problem.Location.Line.ShouldBe(1);
        }
    }

    /// <summary>Where a configuration names a plugin of each kind (the first metric for metrics).</summary>
    private static string PathOf(PluginKind kind) => kind switch
    {
        PluginKind.Sampler => "children.sampler",
        PluginKind.Perturbation => "children.perturbation",
        PluginKind.Optimizer => "parent.optimizer",
        PluginKind.Schedule => "parent.schedule",
        PluginKind.Metric => "metrics[0]",
        _ => "combiner",
    };

    /// <summary>
    /// A plugin without an options class, given two option keys in a configuration, is refused through the loader that
    /// <c>sne run</c> uses: one problem per key, at the key's line, naming it — nothing is silently ignored.
    /// </summary>
    private static void Any_option_key_is_refused_by_a_plugin_without_options(PluginDescriptor descriptor)
    {
        string path = PathOf(descriptor.Kind);
        string block = $"type: {descriptor.Name}\nbogus_key: 1\nanother_key: [a, b]";
        string yaml = descriptor.Kind switch
        {
            PluginKind.Metric => "metrics:\n  - " + block.Replace("\n", "\n    "),
            _ when path.Contains('.') => $"{path.Split('.')[0]}:\n  {path.Split('.')[1]}:\n    " + block.Replace("\n", "\n    "),
            _ => $"{path}:\n  " + block.Replace("\n", "\n  "),
        };
        using var dir = new TempDir();
        string file = dir.File("options.yaml", yaml + "\n");
        var (_, config, binder) = ExperimentLoader.Read(file, [], environment: new Dictionary<string, string>());
        var error = Should.Throw<ConfigException>(() => ExperimentLoader.Resolve(config, binder, Catalog), yaml);
        var refused = error.Problems.Where(p => p.Location.KeyPath.StartsWith(path + ".", StringComparison.Ordinal)).ToList();
        refused.Select(p => p.Location.KeyPath).ShouldBe([$"{path}.bogus_key", $"{path}.another_key"], yaml);
        refused.Select(p => p.Location.Line).ShouldBe([yaml.Split('\n').ToList().FindIndex(l => l.Contains("bogus_key")) + 1, yaml.Split('\n').Length], yaml);
        string kind = descriptor.Kind.ToString().ToLowerInvariant();
        refused[0].Message.ShouldBe($"unknown key 'bogus_key': {kind} '{descriptor.Name}' takes no options");
        refused[1].Message.ShouldBe($"unknown key 'another_key': {kind} '{descriptor.Name}' takes no options");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Sne_refuses_an_option_of_a_plugin_without_options_in_one_line_with_exit_code_2()
    {
        var result = Sne.Run("validate", Repo.Example("spirals.yaml"), "--set", "children.perturbation={type: prune, amount: 0.5}");
        result.ExitCode.ShouldBe(2, result.Output);
        result.Stderr.Trim().Split('\n').ShouldHaveSingleItem(result.Stderr);
        result.Stderr.ShouldContain("children.perturbation.amount: unknown key 'amount': perturbation 'prune' takes no options");
    }

    public static TheoryData<string, string> KitCheckedPlugins()
    {
        PluginKind[] kinds = [PluginKind.Sampler, PluginKind.Perturbation, PluginKind.Optimizer, PluginKind.Schedule, PluginKind.Metric, PluginKind.Combiner, PluginKind.Analysis];
        var data = new TheoryData<string, string>();
        foreach (var d in Catalog.All.Where(d => kinds.Contains(d.Kind))) data.Add(d.Kind.ToString(), d.Name);
        return data;
    }

    /// <summary>Samplers whose masks do not depend on the generator, and why; every other sampler must draw its masks from it.</summary>
    private static readonly Dictionary<string, string> SeedIndependentSamplers = new()
    {
        ["full"] = "every weight is kept",
        ["magnitude"] = "the largest weights are kept",
        ["synflow"] = "it is data-free: the scores come from the weights alone",
    };

    /// <summary>Options that keep a perturbation's schedule within the six steps the kit simulates.</summary>
    private static readonly Dictionary<string, string> PerturbationOptions = new()
    {
        ["iterative-prune"] = "{ epochs: 2 }",
        ["temperature-anneal"] = "{ anneal_epochs: 2 }",
        ["random-anneal"] = "{ anneal_epochs: 2 }",
        ["rigl"] = "{ update_interval: 2, batch_size: 16 }",
    };

    /// <summary>Options that keep an analysis quick on the kit's 24 rows.</summary>
    private static readonly Dictionary<string, string> AnalysisOptions = new()
    {
        ["smoothgrad"] = "{ images: 4, samples: 3 }",
        ["perceptual-hash"] = "{ images: 4, samples: 3 }",
        ["tsne"] = "{ points: 12, iterations: 40, perplexity: 5 }",
        ["loss-landscape"] = "{ rows: 8, resolution: 3 }",
        ["feature-vis"] = "{ channels: 2, steps: 3 }",
    };

    /// <summary>Perturbations that draw nothing, and why; every other perturbation must take its randomness from the context.</summary>
    private static readonly Dictionary<string, string> SeedIndependentPerturbations = new()
    {
        ["identity"] = "it changes nothing",
        ["prune"] = "it applies the given mask",
    };

    /// <summary>
    /// The test kit (SubnetworkEnsembles.Testing) that plugin authors use, run over every built-in plugin of its kinds as
    /// created from disk by the host's factory with default options: determinism from the generator, masks 0/1 with the
    /// weights' names and shapes, inputs unchanged, no tensor leaked, schedules pure functions of the step.
    /// </summary>
    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(KitCheckedPlugins))]
    public void Every_plugin_passes_the_test_kit_contract_of_its_kind(string kind, string name)
    {
        switch (Enum.Parse<PluginKind>(kind))
        {
            case PluginKind.Sampler:
                SamplerContract.Check(() => Create<ISubnetworkSampler>(PluginKind.Sampler, name, name == "synflow" ? "{ iterations: 4 }" : "{}"),
                    new SamplerExpectations { SeedIndependent = SeedIndependentSamplers.GetValueOrDefault(name) });
                break;
            case PluginKind.Perturbation:
                PerturbationContract.Check(() => Create<IPerturbation>(PluginKind.Perturbation, name, PerturbationOptions.GetValueOrDefault(name, "{}")),
                    new PerturbationExpectations { SeedIndependent = SeedIndependentPerturbations.GetValueOrDefault(name) });
                break;
            case PluginKind.Optimizer: OptimizerContract.Check(() => Create<IOptimizerFactory>(PluginKind.Optimizer, name)); break;
            case PluginKind.Schedule: ScheduleContract.Check(() => Create<ISchedule>(PluginKind.Schedule, name)); break;
            case PluginKind.Metric: MetricContract.Check(() => Create<IMetric>(PluginKind.Metric, name)); break;
            case PluginKind.Combiner: CombinerContract.Check(() => Create<IEnsembleCombiner>(PluginKind.Combiner, name)); break;
            case PluginKind.Analysis: AnalysisContract.Check(() => Create<IAnalysis>(PluginKind.Analysis, name, AnalysisOptions.GetValueOrDefault(name, "{}"))); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a kind the kit checks");
        }
    }

    /// <summary>The built-in models the kit builds (three times each): input shape, classes and options small enough to be quick.</summary>
    public static TheoryData<string, string, string> KitCheckedModels() => new()
    {
        { "mlp", "3,32,32", "{ hidden: [32] }" },
        { "lenet", "1,28,28", "{}" },
        { "resnet", "3,32,32", "{ depth: 8 }" },
        { "wide-resnet", "3,32,32", "{ depth: 10, width: 1 }" },
    };

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(KitCheckedModels))]
    public void Built_in_models_pass_the_test_kit_model_contract(string name, string inputShape, string options) =>
        ModelContract.Check(() => Create<IModelFactory>(PluginKind.Model, name, options), [.. inputShape.Split(',').Select(long.Parse)], classes: 10);

    [Trait("Category", "unit")]
    [Fact]
    public void The_generated_dataset_passes_the_test_kit_dataset_contract() =>
        DatasetContract.Check(() => Create<IDatasetSource>(PluginKind.Dataset, "spirals", "{ points: 400, test_points: 100 }"), validationRows: 40);
}
