using System.Text.Json.Nodes;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Plugins;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The README's out-of-tree plugins (examples/plugins: a residual-MLP model with no mask code and a Gaussian-blobs
/// dataset), built from source outside the solution as a third party would and selected from YAML: SSE runs on them and
/// its children are really pruned.
/// </summary>
[Trait("Category", "e2e")]
public sealed class OutOfTreeModelAndDatasetTests
{
    private static string Source(string plugin, string file) => File.ReadAllText(Path.Combine(Repo.Root, "examples", "plugins", plugin, file));

    private const string Experiment = """
        name: out-of-tree
        seed: 0
        data: { dataset: blobs, points: 600, classes: 3, dimensions: 4, spread: 0.6, validation: 60 }
        model: { type: residual-mlp, width: 32, blocks: 2 }
        parent:
          epochs: 6
          batch_size: 32
          optimizer: { type: adam }
          schedule: { type: constant, lr: 0.003 }
        children:
          count: 2
          sampler: { type: partition, k: 2 }
          perturbation: { type: prune }
          tuning:
            epochs: 2
            batch_size: 32
            optimizer: { type: adam }
            schedule: { type: constant, lr: 0.001 }
        metrics: [accuracy, nll]
        """;

    [Fact]
    public void The_readme_model_and_dataset_plugins_build_outside_the_solution_and_run_sse_with_pruned_children()
    {
        using var dir = new TempDir();
        PluginProject.Build(dir.Path, "ResidualMlp", Source("ResidualMlp", "ResidualMlp.cs"));
        PluginProject.Build(dir.Path, "Blobs", Source("Blobs", "BlobsDataset.cs"));
        string plugins = Path.Combine(dir.Path, "plugins");
        string config = dir.File("experiment.yaml", Experiment);
        string run = Path.Combine(dir.Path, "run");

        var result = Sne.Run("run", config, "--out", run, "--plugins", plugins, "--quiet");
        result.ExitCode.ShouldBe(0, result.Output);

        // The dataset plugin's rows: 600 points, 20 % test, 60 validation; 4 features, classes named by the plugin.
        var results = Sne.Results(run);
        results["parent"]!["train_rows"]!.GetValue<long>().ShouldBe(420);
        var data = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "data.json")))!;
        data.ToJsonString().ShouldContain("\"blob2\"");
        // Three well separated blobs: far above chance (1/3).
        results["parent"]!["accuracy"]!.GetValue<double>().ShouldBeGreaterThan(0.8);
        results["ensemble"]!["accuracy"]!.GetValue<double>().ShouldBeGreaterThan(0.8);

        // The model plugin's weights (input 4·32 + 2 blocks · 2 · 32·32 + output 32·3 = 4320) are masked; a 2-way partition
        // halves every layer's weights of each child (biases are never masked).
        var members = results["members"]!.AsArray();
        members.Count.ShouldBe(2);
        long parentParameters = results["parent"]!["parameters"]!.GetValue<long>();
        parentParameters.ShouldBe(4 * 32 + 32 + 2 * 2 * (32 * 32 + 32) + 32 * 3 + 3);
        foreach (var member in members)
        {
            member!["sparsity"]!.GetValue<double>().ShouldBe(0.5, 0.01);
            member["nonzero_parameters"]!.GetValue<long>().ShouldBeLessThan(parentParameters * 6 / 10);
        }

        // results.json records the plugins used, with the exact assembly: the out-of-tree model by its file's SHA-256.
        var model = results["plugins"]!.AsArray().Single(p => p!["kind"]!.GetValue<string>() == "model")!;
        model["name"]!.GetValue<string>().ShouldBe("residual-mlp");
        string modelFile = Path.Combine(plugins, "ResidualMlp", "ResidualMlp.dll");
        model["file"]!.GetValue<string>().ShouldBe(modelFile);
        model["sha256"]!.GetValue<string>().ShouldBe(PluginCatalog.Sha256(modelFile));
        results["plugins"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ShouldContain("partition");   // built-ins too

        // The run's config.yaml keeps the --plugins folder, so the verbs on the run (stages, grow, predict, report, which
        // resolve it as validate does) find its plugins without it.
        File.ReadAllText(Path.Combine(run, "config.yaml")).ShouldContain(plugins);
        var again = Sne.Run("validate", Path.Combine(run, "config.yaml"));
        again.ExitCode.ShouldBe(0, again.Output);

        // The checkpoints hold complementary masks: every weight is kept by exactly one of the two children.
        var catalog = PluginCatalog.Discover([plugins]);
        using var first = LoadChild(catalog, run, 0);
        using var second = LoadChild(catalog, run, 1);
        first.MaskedLayers.Select(l => l.Name).ShouldBe(
            ["input.weight", "blocks.0.expand.weight", "blocks.0.project.weight", "blocks.1.expand.weight", "blocks.1.project.weight", "output.weight"]);
        foreach (var (a, b) in first.MaskedLayers.Zip(second.MaskedLayers))
        {
            using var sum = a.Mask + b.Mask;
            sum.eq(1).all().ToBoolean().ShouldBeTrue($"{a.Name}: the two children's masks are not a partition");
            using var pruned = a.weight * (1 - a.Mask);
            pruned.abs().max().ToDouble().ShouldBe(0, $"{a.Name}: a masked-out weight of child 0 is not zero");
        }
    }

    /// <summary>Child <paramref name="index"/>'s checkpoint, loaded into the plugin's network made maskable as the host does.</summary>
    private static MaskedNetwork LoadChild(PluginCatalog catalog, string run, int index)
    {
        var descriptor = catalog.Find(PluginKind.Model, "residual-mlp").ShouldNotBeNull();
        dynamic options = Activator.CreateInstance(descriptor.OptionsType!)!;
        options.Width = 32;
        options.Blocks = 2;
        var factory = (IModelFactory)Activator.CreateInstance(descriptor.ImplementationType, [options])!;
        var generator = new Generator(0);
        var network = new MaskedNetwork(factory.Build(new ModelContext([4], 3, generator)), [4], 3, generator);
        SubnetworkEnsembles.Experiments.Pipeline.SparseCheckpoint.Load(network, Path.Combine(run, "children", $"child-{index:D3}.ckpt"));
        return network;
    }
}
