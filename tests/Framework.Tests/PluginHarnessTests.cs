using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Host.Configuration;
using TorchSharp;
using Xunit;
using YamlDotNet.RepresentationModel;
using static TorchSharp.torch;

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
    public void The_catalog_holds_every_plugin_of_the_method_catalogue() => AllPlugins().Count.ShouldBe(48);

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

    public static TheoryData<string> Samplers() => [.. Catalog.NamesOf(PluginKind.Sampler)];

    /// <summary>Samplers whose masks do not depend on the generator, and why; every other sampler must draw its masks from it.</summary>
    private static readonly Dictionary<string, string> SeedIndependentSamplers = new()
    {
        ["full"] = "every weight is kept",
        ["magnitude"] = "the largest weights are kept",
        ["synflow"] = "it is data-free: the scores come from the weights alone",
    };

    /// <summary>Training and validation rows for the data-aware plugins: random inputs of <paramref name="shape"/>, labels in 0 … 9.</summary>
    private static (Engine.Data.InMemoryDataset Train, Engine.Data.InMemoryDataset Validation) RandomRows(long[] shape)
    {
        using var g = new Generator(17);
        return (new Engine.Data.InMemoryDataset(randn([300, .. shape], generator: g), randint(0, 5, [300], generator: g)),
                new Engine.Data.InMemoryDataset(randn([40, .. shape], generator: g), randint(0, 5, [40], generator: g)));
    }

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(Samplers))]
    public void Samplers_are_deterministic_under_a_seed(string name)
    {
        using var model = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10);
        var (train, validation) = RandomRows([1, 28, 28]);
        using var trainRows = train;
        using var validationRows = validation;
        var context = new SamplingContext(new Engine.Training.NetworkAccess(model, model.MaskableWeights, train, validation), 0, 0);
        var instances = new List<ISubnetworkSampler>();
        IReadOnlyList<ChildMask> Draw(ulong seed)
        {
            var sampler = Create<ISubnetworkSampler>(PluginKind.Sampler, name);
            instances.Add(sampler);
            using var generator = new Generator(seed);
            var set = sampler.SampleSet(model.MaskableWeights, generator, context);
            set.Count.ShouldBe(sampler.SetSize);
            return set;
        }
        bool Same(IReadOnlyList<ChildMask> a, IReadOnlyList<ChildMask> b) =>
            a.Count == b.Count && a.Zip(b).All(p => model.MaskableWeights.All(w => p.First.Masks[w.Name].IsSameAs(p.Second.Masks[w.Name])));

        var first = Draw(5);
        var again = Draw(5);
        var otherSeed = Draw(6);
        instances.Distinct().Count().ShouldBe(3, "each draw comes from a fresh instance");
        Same(first, again).ShouldBeTrue($"{name}: two fresh instances with the same seed draw the same masks");
        if (SeedIndependentSamplers.TryGetValue(name, out var why))
            Same(first, otherSeed).ShouldBeTrue($"{name} is the same under every seed: {why}");
        else
            Same(first, otherSeed).ShouldBeFalse($"{name}: another seed must draw other masks");
    }

    public static TheoryData<string> Perturbations() => [.. Catalog.NamesOf(PluginKind.Perturbation)];

    /// <summary>Options that keep a perturbation's schedule within the six steps the test runs.</summary>
    private static readonly Dictionary<string, string> PerturbationOptions = new()
    {
        ["iterative-prune"] = "{ epochs: 2 }",
        ["temperature-anneal"] = "{ anneal_epochs: 2 }",
        ["random-anneal"] = "{ anneal_epochs: 2 }",
        ["rigl"] = "{ update_interval: 2, batch_size: 16 }",
    };

    /// <summary>Perturbations that draw nothing, and why; every other perturbation must take its randomness from the context.</summary>
    private static readonly Dictionary<string, string> SeedIndependentPerturbations = new()
    {
        ["identity"] = "it changes nothing",
        ["prune"] = "it applies the given mask",
    };

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(Perturbations))]
    public void Perturbations_are_deterministic_under_a_seed(string name)
    {
        var instances = new List<IPerturbation>();
        // The child's weights, masks and every training forward pass (which draws any stochastic mask) of a fresh
        // instance applied to the same parent and mask, with the run seed and both generators from seed.
        Tensor[] Run(ulong seed)
        {
            using var model = TestModels.SmallMlp(seed: 4);
            var perturbation = Create<IPerturbation>(PluginKind.Perturbation, name, PerturbationOptions.GetValueOrDefault(name, "{}"));
            instances.Add(perturbation);
            using var maskGenerator = new Generator(3);
            using var mask = Create<ISubnetworkSampler>(PluginKind.Sampler, "bernoulli").SampleSet(model.MaskableWeights, maskGenerator)[0];
            using var generator = new Generator(seed);
            using var setGenerator = new Generator(seed + 1000);
            // Member 0 of a set of 2, so that perturbations working on mirrored sets (mirrored-noise) apply too.
            var (train, validation) = RandomRows([1, 8, 8]);
            using var trainRows = train;
            using var validationRows = validation;
            var network = new Engine.Training.NetworkAccess(model, model.MaskableWeights, train, validation);
            perturbation.Apply(model.MaskableWeights, mask, new PerturbationContext(0, 0, 0, 2, (long)seed, generator, setGenerator) { Network = network });
            var observed = new List<Tensor>();
            for (int step = 0; step < 6; step++)
            {
                perturbation.OnTuningStep(model.MaskableWeights, new TrainingProgress(step, 6, step / 2, 2));
                model.train();
                using var x = ones(2, 1, 8, 8);
                observed.Add(model.call(x).detach().clone());
                perturbation.AfterTuningStep(model.MaskableWeights, new TrainingProgress(step, 6, step / 2, 2));
            }
            observed.AddRange(model.MaskableWeights.SelectMany(w => new[] { w.Weight.detach().clone(), w.Mask.clone() }));
            return [.. observed];
        }
        static bool Same(Tensor[] a, Tensor[] b) => a.Length == b.Length && a.Zip(b).All(p => p.First.IsSameAs(p.Second));

        var first = Run(9);
        var again = Run(9);
        var otherSeed = Run(10);
        instances.Distinct().Count().ShouldBe(3, "each run uses a fresh instance");
        Same(first, again).ShouldBeTrue($"{name}: two fresh instances with the same seed make the same child");
        if (SeedIndependentPerturbations.TryGetValue(name, out var why))
            Same(first, otherSeed).ShouldBeTrue($"{name} is the same under every seed: {why}");
        else
            Same(first, otherSeed).ShouldBeFalse($"{name}: another seed must make another child");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Schedules_metrics_and_combiners_are_pure_functions_of_their_inputs()
    {
        var steps = Enumerable.Range(0, 15).Select(i => 7L * i).ToList();
        foreach (var name in Catalog.NamesOf(PluginKind.Schedule))
        {
            // Two fresh instances, one asked forwards and one backwards: equal values mean no state is carried between calls.
            var forwards = Create<ISchedule>(PluginKind.Schedule, name);
            var backwards = Create<ISchedule>(PluginKind.Schedule, name);
            ReferenceEquals(forwards, backwards).ShouldBeFalse();
            var early = steps.Select(t => forwards.At(t, 100)).ToList();
            var late = Enumerable.Reverse(steps).Select(t => backwards.At(t, 100)).Reverse().ToList();
            late.ShouldBe(early, name);
        }
        using var g = new Generator(1);
        using var members = rand([3, 50, 4], generator: g).softmax(2);
        using var labels = randint(0, 4, [50], generator: g);
        using var combined = members.mean([0]);
        var input = new MetricInput(members, combined, labels);
        foreach (var name in Catalog.NamesOf(PluginKind.Metric))
        {
            // A used instance (its second call) and a fresh one agree.
            var used = Create<IMetric>(PluginKind.Metric, name);
            var fresh = Create<IMetric>(PluginKind.Metric, name);
            ReferenceEquals(used, fresh).ShouldBeFalse();
            var firstCall = used.Compute(input);
            var secondCall = used.Compute(input);
            var freshCall = fresh.Compute(input);
            freshCall.ShouldBe(firstCall, name);
            secondCall.ShouldBe(freshCall, name);
            freshCall.Values.ShouldAllBe(v => double.IsFinite(v));
        }
        foreach (var name in Catalog.NamesOf(PluginKind.Combiner))
        {
            var c = Create<IEnsembleCombiner>(PluginKind.Combiner, name);
            using var p = c.Combine(members);
            p.shape.ShouldBe([50L, 4]);
            p.sum(1).sub(1).abs().max().ToDouble().ShouldBeLessThan(1e-5, name);
        }
    }
}
