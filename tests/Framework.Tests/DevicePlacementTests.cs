using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Host.Configuration;
using TorchSharp;
using Xunit;
using YamlDotNet.RepresentationModel;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// While alive, LibTorch's default device is "meta", a device whose tensors have shapes but no data: a tensor created
/// without naming its device lands there, and the first operation that meets it with a CPU tensor throws "Expected all
/// tensors to be on the same device" (reading or copying it throws too). On a <c>device: cpu</c> run this is what a
/// <c>device: cuda</c> run does to a tensor left on the default device (the CPU) among CUDA tensors, so a CPU test
/// finds it. A randperm drawn from a CPU generator without naming its device crashes LibTorch on meta (a segmentation
/// fault, not an exception), so every randperm on a checked path names its device. The meta device itself cannot run the pipeline (TorchSharp 0.107's LibTorch has no meta kernels for
/// conv2d, index_select, where, batch_norm or reading a value, and a Linear mixes meta and CPU without complaint).
/// </summary>
public sealed class DefaultDeviceIsMeta : IDisposable
{
    private readonly Device _previous = get_default_device();

    /// <summary>Makes "meta" the default device until disposed.</summary>
    public DefaultDeviceIsMeta() => set_default_device(new Device("meta"));

    /// <summary>Restores the default device.</summary>
    public void Dispose() => set_default_device(_previous);
}

/// <summary>
/// Device placement, checked without a GPU: a child is sampled (every sampler), perturbed (every perturbation) and tuned
/// (every optimiser) on the CPU as <c>ChildBuilder.Build</c> does, with the default device made "meta"
/// (<see cref="DefaultDeviceIsMeta"/>), so a tensor created on the default device instead of the run's device fails the
/// step that uses it; afterwards every parameter, gradient, buffer (masks included), stochastic mask draw and output is
/// checked to be on the run's device. Draws meant for the CPU name it (device: CPU), so the CPU generators give a GPU run
/// the same numbers. Not covered: a CPU generator used for a draw on the device (meta accepts it; CUDA does not), and
/// everything the CUDA LibTorch itself does — nothing here ran on a GPU.
/// </summary>
public class DevicePlacementTests
{
    private static readonly PluginCatalog Catalog = PluginCatalog.Discover([Repo.PluginsDirectory], NullLogger.Instance);
    private static readonly ServiceProvider Services = new ServiceCollection().AddLogging().AddSubnetworkPlugins(Catalog).BuildServiceProvider();

    /// <summary>Options that keep a plugin quick on 64 rows and two epochs.</summary>
    private static readonly Dictionary<string, string> QuickOptions = new()
    {
        ["synflow"] = "{ iterations: 4 }",
        ["iterative-prune"] = "{ epochs: 2 }",
        ["rigl"] = "{ update_interval: 2, batch_size: 16 }",
        ["partition"] = "{ mirror: true }",
    };

    private static T Create<T>(PluginKind kind, string name) where T : class
    {
        var descriptor = Catalog.Find(kind, name)!;
        string yaml = QuickOptions.GetValueOrDefault(name, "{}");
        var options = YamlDocumentReader.Parse("o: " + yaml, "test").Children[new YamlScalarNode("o")] as YamlMappingNode ?? new YamlMappingNode();
        var binder = new ConfigBinder("test");
        object? bound = descriptor.OptionsType is null ? null : binder.BindObject(descriptor.OptionsType, options, name);
        binder.ThrowIfProblems();
        return Services.GetRequiredService<PluginFactory>().Create<T>(new PluginSpec { Type = name, Kind = kind, BoundOptions = bound });
    }

    /// <summary>Every sampler with noise and SGD, every perturbation with mirrored partitions (sets of 4) and SGD, every optimiser with Bernoulli and noise.</summary>
    public static TheoryData<string, string, string> ChildPaths()
    {
        var paths = Catalog.All.Where(d => d.Kind == PluginKind.Sampler).Select(d => (d.Name, "noise", "sgd"))
            .Concat(Catalog.All.Where(d => d.Kind == PluginKind.Perturbation).Select(d => ("partition", d.Name, "sgd")))
            .Concat(Catalog.All.Where(d => d.Kind == PluginKind.Optimizer).Select(d => ("bernoulli", "noise", d.Name)));
        var data = new TheoryData<string, string, string>();
        foreach (var (sampler, perturbation, optimizer) in paths.Distinct()) data.Add(sampler, perturbation, optimizer);
        return data;
    }

    [Trait("Category", "unit")]
    [Fact]
    public void The_meta_default_device_turns_a_tensor_created_without_its_device_into_an_error()
    {
        using var weight = ones(4, device: CPU);
        using (new DefaultDeviceIsMeta())
        {
            using var forgotten = zeros(4);
            forgotten.device_type.ShouldBe(DeviceType.META);
            Should.Throw<Exception>(() => weight.add(forgotten)).Message.ShouldContain("Expected all tensors to be on the same device");
            using var drawn = randn([4], generator: null);
            Should.Throw<Exception>(() => drawn.to(CPU)).Message.ShouldContain("meta");
            using var named = zeros(4, device: weight.device);
            using var sum = weight.add(named);
            sum.device_type.ShouldBe(DeviceType.CPU);
        }
        using var after = zeros(1);
        after.device_type.ShouldBe(DeviceType.CPU, "the default device is restored");
    }

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(ChildPaths))]
    public void A_child_is_sampled_perturbed_and_tuned_with_every_tensor_on_the_run_device(string samplerName, string perturbationName, string optimizerName)
    {
        var device = CPU;
        // Networks and data are made before: model plugins build on the default device and the host moves them.
        using var parent = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10, seed: 1);
        using var child = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10, seed: 2);
        parent.to(device);
        child.to(device);
        child.CopyFrom(parent);
        using var train = Rows(64, seed: 3);
        using var validation = Rows(16, seed: 4);
        var parentWeights = parent.MaskableWeights.Where(w => !w.IsOutputLayer).ToList();
        var weights = child.MaskableWeights.Where(w => !w.IsOutputLayer).ToList();
        var sampler = Create<ISubnetworkSampler>(PluginKind.Sampler, samplerName);
        var perturbation = Create<IPerturbation>(PluginKind.Perturbation, perturbationName);
        var factory = Create<IOptimizerFactory>(PluginKind.Optimizer, optimizerName);
        var schedule = Create<ISchedule>(PluginKind.Schedule, "constant");
        int member = sampler.SetSize - 1;
        var drawn = new List<Tensor>();
        IReadOnlyList<ChildMask> set = [];
        Tensor? probabilities = null;
        string path = $"{samplerName} → {perturbationName} → {optimizerName}";
        try
        {
            try
            {
                using var meta = new DefaultDeviceIsMeta();
                using var setGenerator = Seeds.Generator(7, "sampler-set", 0);
                set = sampler.SampleSet(parentWeights, setGenerator, new SamplingContext(new NetworkAccess(parent, parentWeights, train, validation), 0, 7));
                using var deviceMask = new ChildMask(set[member].Masks.ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32, device)));
                using var own = Seeds.Generator(7, "perturbation", member);
                using var shared = Seeds.Generator(7, "perturbation-set", 0);
                var access = new NetworkAccess(child, weights, train, validation);
                perturbation.Apply(weights, deviceMask, new PerturbationContext(member, 0, member, sampler.SetSize, 7, own, shared) { Network = access });
                drawn.AddRange(weights.Where(w => w.StochasticMask is not null).Select(w => w.StochasticMask!()));
                using var optimizer = factory.Create(child.parameters().ToList(), 0.01);
                using var shuffle = new Generator(5);
                new Trainer(NullLogger.Instance).Train(child, train, new TrainingSettings(2, 16), optimizer, schedule, shuffle, "child",
                    p => perturbation.OnTuningStep(weights, p), afterStep: p => perturbation.AfterTuningStep(weights, p));
                drawn.AddRange(weights.Where(w => w.StochasticMask is not null).Select(w => w.StochasticMask!()));
                foreach (var w in weights) w.StochasticMask = null;
                probabilities = Evaluator.Probabilities(child, validation);
            }
            catch (System.Runtime.InteropServices.ExternalException e) when (e.Message.Contains("meta", StringComparison.Ordinal))
            {
                throw new Xunit.Sdk.XunitException($"{path}: {e.Message.Split('\n')[0]} — a tensor on this path was created without naming its device " +
                    "(here it lands on meta; on a GPU run it would stay on the CPU): create it on the run's device, or with device: CPU where it is " +
                    "drawn on the CPU and moved afterwards");
            }

            foreach (var mask in set.SelectMany(s => s.Masks))
                mask.Value.device_type.ShouldBe(DeviceType.CPU, $"{path}: sampler mask {mask.Key} (samplers return CPU masks)");
            foreach (var (name, p) in child.named_parameters())
            {
                p.device_type.ShouldBe(device.type, $"{path}: parameter {name}");
                if (p.grad is { } grad) grad.device_type.ShouldBe(device.type, $"{path}: gradient of {name}");
            }
            foreach (var (name, buffer) in child.named_buffers()) buffer.device_type.ShouldBe(device.type, $"{path}: buffer {name}");
            foreach (var draw in drawn) draw.device_type.ShouldBe(device.type, $"{path}: a stochastic mask draw");
            probabilities!.device_type.ShouldBe(device.type, $"{path}: the child's probabilities");
        }
        finally
        {
            foreach (var m in set) m.Dispose();
            foreach (var d in drawn) d.Dispose();
            probabilities?.Dispose();
        }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void A_structured_child_is_compacted_stored_and_expanded_with_every_tensor_on_the_run_device()
    {
        var device = CPU;
        using var dense = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10, seed: 1);
        using var compact = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10, seed: 2);
        using var expanded = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10, seed: 3);
        using var loaded = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10, seed: 4);
        foreach (var n in new[] { dense, compact, expanded, loaded }) n.to(device);
        var weights = dense.MaskableWeights.Where(w => !w.IsOutputLayer).ToList();
        using var scratch = new TempDir();
        string file = Path.Combine(scratch.Path, "child.ckpt");
        double difference;
        using (new DefaultDeviceIsMeta())
        {
            using var generator = new Generator(3);
            var set = Create<ISubnetworkSampler>(PluginKind.Sampler, "structured").SampleSet(weights, generator);
            using var mask = new ChildMask(set[0].Masks.ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32, device)));
            Create<IPerturbation>(PluginKind.Perturbation, "prune").Apply(weights, mask, TestModels.Context(generator));
            foreach (var m in set) m.Dispose();
            var plan = StructuredCompaction.Plan(dense, probeSeed: 5).Plan.ShouldNotBeNull();
            compact.CopyFrom(dense);
            StructuredCompaction.Compact(compact, plan, probeSeed: 5);
            difference = StructuredCompaction.MaxLogitDifference(dense, compact, 5);
            SubnetworkEnsembles.Experiments.Pipeline.SparseCheckpoint.Save(compact, plan, file);
            using var contents = SubnetworkEnsembles.Experiments.Pipeline.SparseCheckpoint.Read(file);
            StructuredCompaction.Shrink(loaded, contents.Compaction!);
            SubnetworkEnsembles.Experiments.Pipeline.SparseCheckpoint.LoadInto(loaded, contents, file);
            StructuredCompaction.Expand(loaded, expanded, plan);
        }
        difference.ShouldBeLessThan(1e-4);
        foreach (var (label, network) in new[] { ("compact", compact), ("loaded", loaded), ("expanded", expanded) })
        {
            foreach (var (name, p) in network.named_parameters()) p.device_type.ShouldBe(device.type, $"{label}: parameter {name}");
            foreach (var (name, b) in network.named_buffers()) b.device_type.ShouldBe(device.type, $"{label}: buffer {name}");
        }
        StructuredCompaction.MaxLogitDifference(dense, expanded, 6).ShouldBeLessThan(1e-4);
    }

    /// <summary><paramref name="rows"/> random 1×28×28 images of 10 classes, on the CPU.</summary>
    private static InMemoryDataset Rows(long rows, ulong seed)
    {
        using var generator = new Generator(seed);
        return new InMemoryDataset(randn([rows, 1, 28, 28], generator: generator, device: CPU),
            randint(0, 10, [rows], generator: generator, device: CPU));
    }
}
