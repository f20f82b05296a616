using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Host.Configuration;
using SubnetworkEnsembles.Host.Plugins;
using TorchSharp;
using Xunit;
using YamlDotNet.RepresentationModel;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// One harness run over every plugin registered on disk (timm's test_optim style): each is created through the
/// host's factory with its default options, its options reject wrongly typed values with the key named, and it is
/// deterministic under a seed.
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
    public void The_catalog_holds_every_plugin_of_the_method_catalogue() => AllPlugins().Count().ShouldBe(31);

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(AllPlugins))]
    public void Every_plugin_is_created_from_disk_with_valid_default_options(string kind, string name)
    {
        var k = Enum.Parse<PluginKind>(kind);
        var descriptor = Catalog.Find(k, name)!;
        PluginCatalog.ContractOf(k).IsAssignableFrom(descriptor.ImplementationType).ShouldBeTrue();
        if (descriptor.OptionsType is not null && Activator.CreateInstance(descriptor.OptionsType) is IValidatableOptions defaults)
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
        if (descriptor.OptionsType is null) return;
        foreach (var property in descriptor.OptionsType.GetProperties().Where(p => p.CanWrite && p.PropertyType != typeof(string)))
        {
            string key = ConfigNames.Key(property.Name);
            var options = (YamlMappingNode)YamlDocumentReader.Parse($"o: {{ {key}: not-a-valid-value }}", "bad.yaml").Children[new YamlScalarNode("o")];
            var binder = new ConfigBinder("bad.yaml");
            binder.BindObject(descriptor.OptionsType, options, $"children.{name}");
            var problem = binder.Problems.ShouldHaveSingleItem($"{name}.{key}");
            problem.Location.KeyPath.ShouldBe($"children.{name}.{key}");
            problem.Message.ShouldStartWith("expected ");
            problem.Location.Line.ShouldBe(1);
        }
    }

    public static TheoryData<string> Samplers() => new() { "bernoulli", "structured", "partition", "magnitude", "full" };

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(Samplers))]
    public void Samplers_are_deterministic_under_a_seed(string name)
    {
        using var model = new LeNet5(LeNetSize.Small, [1, 28, 28], 10);
        var sampler = Create<ISubnetworkSampler>(PluginKind.Sampler, name);
        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        var a = sampler.SampleSet(model.MaskableWeights, g1);
        var b = sampler.SampleSet(model.MaskableWeights, g2);
        a.Count.ShouldBe(sampler.SetSize);
        for (int i = 0; i < a.Count; i++)
            foreach (var w in model.MaskableWeights) a[i].Masks[w.Name].IsSameAs(b[i].Masks[w.Name]).ShouldBeTrue($"{name} {w.Name}");
    }

    public static TheoryData<string, string> Perturbations() => new()
    {
        { "prune", "{}" }, { "noise", "{ sigma: 0.05 }" }, { "iterative-prune", "{ epochs: 2 }" },
        { "temperature-anneal", "{ anneal_epochs: 2 }" }, { "random-anneal", "{ anneal_epochs: 2 }" }, { "identity", "{}" },
    };

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(Perturbations))]
    public void Perturbations_are_deterministic_under_a_seed(string name, string options)
    {
        Tensor[] Run()
        {
            using var model = TestModels.SmallMlp(seed: 4);
            var perturbation = Create<IPerturbation>(PluginKind.Perturbation, name, options);
            using var g = new Generator(9);
            using var maskGen = new Generator(3);
            var mask = Create<ISubnetworkSampler>(PluginKind.Sampler, "bernoulli").SampleSet(model.MaskableWeights, maskGen)[0];
            perturbation.Apply(model.MaskableWeights, mask, TestModels.Context(g));
            for (int step = 0; step < 6; step++)
            {
                perturbation.OnTuningStep(model.MaskableWeights, new TrainingProgress(step, 6, step / 2, 2));
                model.train();
                using var x = ones(2, 1, 8, 8);
                using var y = model.call(x);       // draws any stochastic mask
            }
            return model.MaskableWeights.SelectMany(w => new[] { w.Weight.detach().clone(), w.Mask.clone() }).ToArray();
        }
        var first = Run();
        var second = Run();
        for (int i = 0; i < first.Length; i++) first[i].IsSameAs(second[i]).ShouldBeTrue($"{name} tensor {i}");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Schedules_metrics_and_combiners_are_pure_functions_of_their_inputs()
    {
        foreach (var name in Catalog.NamesOf(PluginKind.Schedule))
        {
            var s = Create<ISchedule>(PluginKind.Schedule, name);
            for (long t = 0; t < 100; t += 7) s.At(t, 100).ShouldBe(s.At(t, 100), name);
        }
        using var g = new Generator(1);
        using var members = rand([3, 50, 4], generator: g).softmax(2);
        using var labels = randint(0, 4, [50], generator: g);
        using var combined = members.mean([0]);
        foreach (var name in Catalog.NamesOf(PluginKind.Metric))
        {
            var m = Create<IMetric>(PluginKind.Metric, name);
            var input = new MetricInput(members, combined, labels);
            m.Compute(input).ShouldBe(m.Compute(input), name);
            m.Compute(input).Values.ShouldAllBe(v => double.IsFinite(v));
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
