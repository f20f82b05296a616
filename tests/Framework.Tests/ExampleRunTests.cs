using System.Diagnostics;
using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The model and dataset examples (examples/tabular-csv.yaml, image-folder.yaml, resnet20-fashion-mnist.yaml) run through
/// <c>sne run</c> with budgets cut down by --set, and give sensible results; their data generators are deterministic.
/// </summary>
[Trait("Category", "e2e")]
public sealed class ExampleRunTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Script(string name) => Path.Combine(Repo.Root, "examples", "data", name);

    /// <summary>python3 <paramref name="script"/> <paramref name="args"/>; null when python3 cannot be started (the caller skips).</summary>
    private static string? Python(string script, params string[] args)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args) start.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception) { return null; }
        using (process)
        {
            string log = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            process.ExitCode.ShouldBe(0, log);
            return log;
        }
    }

    private static double Value(JsonObject results, string part, string metric) => results[part]![metric]!.GetValue<double>();

    private string Run(string example, params string[] overrides)
    {
        string run = Path.Combine(_dir.Path, Path.GetFileNameWithoutExtension(example));
        var result = Sne.Run(["run", Repo.Example(example), "--out", run, "--quiet", "--set", "threads=1", .. overrides]);
        result.ExitCode.ShouldBe(0, result.Output);
        // --quiet prints nothing on success: no LibTorch log line ("[W1130 12:00:00.000 NNPACK.cpp:56] Could not initialize …") either.
        result.Output.Split('\n').Where(l => l.StartsWith("[W", StringComparison.Ordinal)).ShouldBeEmpty(result.Output);
        return run;
    }

    /// <summary>data.json of a run: the input shape and the class names.</summary>
    private static (long[] Shape, string[] Classes) DataOf(string run)
    {
        var data = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "data.json")))!;
        return (data["input_shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray(), data["class_names"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray());
    }

    [SkippableFact]
    public void The_committed_blobs_csv_is_what_its_script_writes()
    {
        string regenerated = Path.Combine(_dir.Path, "blobs.csv");
        Skip.If(Python(Script("make_blobs.py"), regenerated) is null, "python3 is not installed");
        File.ReadAllText(regenerated).ShouldBe(File.ReadAllText(Script("blobs.csv")));
        var lines = File.ReadAllLines(regenerated);
        lines[0].ShouldBe("x1,x2,x3,x4,x5,x6,x7,x8,label");
        lines.Length.ShouldBe(2001);
        lines.Skip(1).GroupBy(l => l[(l.LastIndexOf(',') + 1)..]).Select(g => (g.Key, g.Count())).Order()
            .ShouldBe([("amber", 500), ("cobalt", 500), ("jade", 500), ("ruby", 500)]);
    }

    [Fact]
    public void Tabular_csv_learns_the_four_blobs_far_above_chance()
    {
        string run = Run("tabular-csv.yaml", "--set", "parent.epochs=4", "--set", "children.count=2", "--set", "children.tuning.epochs=1");
        var results = Sne.Results(run);
        var (shape, classes) = DataOf(run);
        shape.ShouldBe([8L]);
        classes.ShouldBe(["amber", "cobalt", "jade", "ruby"]);
        results["parent"]!["train_rows"]!.GetValue<long>().ShouldBe(1400);
        // Four classes: chance is 25 % and NLL ln 4 = 1.386; the blobs overlap, so about 87 % is the ceiling.
        foreach (var part in new[] { "parent", "ensemble" })
        {
            Value(results, part, "accuracy").ShouldBeInRange(0.7, 0.95, part);
            Value(results, part, "nll").ShouldBeLessThan(0.8, part);
        }
        results["members"]!.AsArray().ShouldAllBe(m => Math.Abs(m!["sparsity"]!.GetValue<double>() - 0.5) < 0.01);
    }

    [SkippableFact]
    public void Image_folder_trains_a_resnet_on_generated_shapes()
    {
        string shapes = Path.Combine(_dir.Path, "shapes");
        Skip.If(Python(Script("make_shapes.py"), shapes, "--per-class", "24", "--test-per-class", "6") is null, "python3 is not installed");
        Directory.GetFiles(Path.Combine(shapes, "train"), "*.png", SearchOption.AllDirectories).Length.ShouldBe(54);

        string run = Run("image-folder.yaml", "--set", $"data.directory={shapes}", "--set", "data.validation=6",
            "--set", "parent.epochs=4", "--set", "children.count=2", "--set", "children.tuning.epochs=1");
        var results = Sne.Results(run);
        var (shape, classes) = DataOf(run);
        shape.ShouldBe([3L, 16L, 16L]);
        classes.ShouldBe(["circle", "cross", "square"]);
        results["parent"]!["train_rows"]!.GetValue<long>().ShouldBe(48);
        results["parent"]!["parameters"]!.GetValue<long>().ShouldBe(77587);   // ResNet-8, 3 input channels, 3 classes
        foreach (var part in new[] { "parent", "ensemble" })
        {
            double nll = Value(results, part, "nll");
            double.IsFinite(nll).ShouldBeTrue(part);
            Value(results, part, "accuracy").ShouldBeInRange(0, 1, part);
        }
        results["members"]!.AsArray().Count.ShouldBe(2);
    }

    [SkippableFact]
    public void Tuned_children_get_batchnorm_statistics_of_their_final_weights_unless_switched_off()
    {
        string shapes = Path.Combine(_dir.Path, "shapes-bn");
        Skip.If(Python(Script("make_shapes.py"), shapes, "--per-class", "24", "--test-per-class", "6") is null, "python3 is not installed");
        string[] tiny = ["--set", $"data.directory={shapes}", "--set", "data.validation=6", "--set", "parent.epochs=2", "--set", "children.count=1",
            "--set", "children.tuning.epochs=1"];
        string reestimated = Run("image-folder.yaml", tiny);
        string kept = Path.Combine(_dir.Path, "kept");
        var result = Sne.Run(["run", Repo.Example("image-folder.yaml"), "--out", kept, "--quiet", "--set", "threads=1", .. tiny,
            "--set", "children.reestimate_batchnorm=false"]);
        result.ExitCode.ShouldBe(0, result.Output);

        using var a = Child(reestimated);
        using var b = Child(kept);
        var mine = b.state_dict();
        int statistics = 0;
        foreach (var (name, tensor) in a.state_dict())
        {
            if (name.EndsWith(".running_mean", StringComparison.Ordinal) || name.EndsWith(".running_var", StringComparison.Ordinal))
            {
                statistics++;
                continue;
            }
            if (name.EndsWith(".num_batches_tracked", StringComparison.Ordinal)) continue;
            tensor.IsSameAs(mine[name]).ShouldBeTrue($"{name}: the re-estimation must change only BatchNorm statistics");
        }
        statistics.ShouldBeGreaterThan(0);
        // The tuned child's own running averages (momentum 0.1) are not the cumulative average over fresh batches.
        a.state_dict().Where(kv => kv.Key.EndsWith(".running_var", StringComparison.Ordinal))
            .Any(kv => !kv.Value.allclose(mine[kv.Key], rtol: 1e-3, atol: 1e-5)).ShouldBeTrue("the statistics were re-estimated");
    }

    /// <summary>child-000 of an image-folder run (ResNet-8 on 3×16×16 shapes, 3 classes) with its weights, masks and statistics.</summary>
    private static Engine.Models.MaskedNetwork Child(string run)
    {
        var generator = new TorchSharp.torch.Generator(0);
        var factory = new Models.ResNetModel(new Models.ResNetOptions { Depth = 8 });
        var network = new Engine.Models.MaskedNetwork(factory.Build(new Abstractions.ModelContext([3, 16, 16], 3, generator)), [3, 16, 16], 3, generator);
        SubnetworkEnsembles.Experiments.Pipeline.SparseCheckpoint.Load(network, Path.Combine(run, "children", "child-000.ckpt"));
        return network;
    }

    [SkippableFact]
    public void Resnet20_on_fashion_mnist_runs_sse_on_a_small_subset()
    {
        const string installed = "/usr/share/datasets/fashion-mnist";
        Skip.IfNot(Directory.Exists(installed), $"Fashion-MNIST is not installed in {installed}");
        string run = Run("resnet20-fashion-mnist.yaml", "--set", "data.train_subset=512", "--set", "data.test_subset=200",
            "--set", "data.validation=100", "--set", "parent.epochs=2", "--set", "parent.batch_size=64",
            "--set", "children.count=2", "--set", "children.tuning.epochs=1", "--set", "children.tuning.batch_size=64");
        var results = Sne.Results(run);
        results["parent"]!["parameters"]!.GetValue<long>().ShouldBe(272186);   // ResNet-20, 1 input channel, 10 classes (272 474 for RGB)
        results["parent"]!["train_rows"]!.GetValue<long>().ShouldBe(512);
        foreach (var member in results["members"]!.AsArray())
            member!["sparsity"]!.GetValue<double>().ShouldBe(0.5, 0.01);
        // Two epochs on 512 images: the parent is above chance (10 %; measured 0.59); so is the ensemble, whose children
        // (one epoch of 8 batches) get BatchNorm statistics of their final weights.
        Value(results, "parent", "accuracy").ShouldBeGreaterThan(0.2);
        Value(results, "ensemble", "accuracy").ShouldBeGreaterThan(0.2);
    }
}
