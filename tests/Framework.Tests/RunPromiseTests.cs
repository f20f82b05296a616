using Shouldly;
using TorchSharp;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// Promises of the README checked end to end on the real sne: failure exit codes and messages (a diverging parent,
/// non-finite children), plugins from <c>$SNE_PLUGIN_PATH</c>, which weights ϕ/ξ touch (<c>maskable</c>,
/// <c>mask_output_layer</c>), model selection by validation accuracy, and a LeNet run on Fashion-MNIST.
/// </summary>
public class RunPromiseTests
{
    /// <summary>The error lines of a failed command: exactly one "sne: error: …" line and no stack trace.</summary>
    private static string OneLineError(SneResult result)
    {
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.Length.ShouldBe(1, result.Stderr);
        lines[0].ShouldStartWith("sne: error: ");
        return lines[0];
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_diverging_parent_exits_3_with_a_one_line_message()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = QuickSpirals.Run(run, null, "--set", "parent.schedule.lr=1.0e30");
        result.ExitCode.ShouldBe(3, result.Output);
        string error = OneLineError(result);
        error.ShouldMatch(@"^sne: error: parent: the training loss is (NaN|-?Infinity|∞|-∞) at step \d+ \(epoch 1, batch \d+\); lower the learning rate or check the data$");
        File.Exists(Path.Combine(run, "parent.json")).ShouldBeFalse("a diverged parent is not a finished stage");
        File.Exists(Path.Combine(run, "results.json")).ShouldBeFalse();
    }

    /// <summary>Untuned children whose noise (σ = 1e39, beyond float32) makes their weights infinite.</summary>
    private static readonly string[] InfiniteNoise =
    [
        "--set", "parent.epochs=1", "--set", "children.tuning=none", "--set", "children.sampler={type: bernoulli, sparsity: 0.5}",
        "--set", "children.perturbation={type: noise, sigma: 1.0e39}", "--set", "children.include_parent=false",   // the children alone
    ];

    [Trait("Category", "e2e")]
    [Fact]
    public void Non_finite_weights_without_tuning_mark_each_child_failed_or_with_fail_fast_stop_the_run()
    {
        using var dir = new TempDir();
        const string Reason = "parameter layers.fc1.weight is not finite after the perturbation 'noise'; weaken it (e.g. a smaller sigma)";

        // fail_fast: false (default): every child is recorded as failed with the reason; with none left there is no ensemble.
        string tolerant = Path.Combine(dir.Path, "tolerant");
        var result = QuickSpirals.Run(tolerant, null, InfiniteNoise);
        result.ExitCode.ShouldBe(3, result.Output);
        for (int i = 0; i < 2; i++)
        {
            File.ReadAllText(Path.Combine(tolerant, "children", $"child-{i:D3}.failed")).Trim()
                .ShouldBe($"TrainingDivergedException: child {i + 1}/2: {Reason}");
            File.Exists(Path.Combine(tolerant, "children", $"child-{i:D3}.npy")).ShouldBeFalse("no predictions of a non-finite child");
        }
        OneLineError(result).ShouldStartWith($"sne: error: {tolerant}: every child failed, there is no ensemble: child 0 failed: TrainingDivergedException: child 1/2: {Reason}");
        File.Exists(Path.Combine(tolerant, "results.json")).ShouldBeFalse();
        Sne.Run("status", tolerant).Stdout.ShouldContain($"child 1   failed: TrainingDivergedException: child 2/2: {Reason}");

        // fail_fast: true: the run stops at the first such child.
        string strict = Path.Combine(dir.Path, "strict");
        var stopped = QuickSpirals.Run(strict, null, [.. InfiniteNoise, "--set", "fail_fast=true"]);
        stopped.ExitCode.ShouldBe(3, stopped.Output);
        OneLineError(stopped).ShouldBe($"sne: error: child 1/2: {Reason}");
        File.Exists(Path.Combine(strict, "children", "child-000.failed")).ShouldBeTrue();
        File.Exists(Path.Combine(strict, "children", "child-001.failed")).ShouldBeFalse("fail_fast stops before the second child");
    }

    private const string PluginSource = """
        using SubnetworkEnsembles.Abstractions;
        using TorchSharp;
        using static TorchSharp.torch;

        namespace ThirdParty;

        /// Mean confidence: the average over rows of the largest combined probability.
        [Plugin("mean-confidence", PluginKind.Metric, Description = "mean of the largest class probability")]
        public sealed class MeanConfidence : IMetric
        {
            public IReadOnlyDictionary<string, double> Compute(MetricInput input)
            {
                using var scope = NewDisposeScope();
                var (confidence, _) = input.EnsembleProbabilities.to_type(ScalarType.Float64).max(1);
                return new Dictionary<string, double> { ["mean_confidence"] = confidence.mean().ToDouble() };
            }
        }
        """;

    [Trait("Category", "e2e")]
    [Fact]
    public void Plugins_in_SNE_PLUGIN_PATH_are_found_and_selected_from_yaml()
    {
        using var dir = new TempDir();
        string plugins = Path.GetDirectoryName(PluginProject.Build(dir.Path, "MeanConfidence", PluginSource))!;
        string empty = Directory.CreateDirectory(Path.Combine(dir.Path, "empty")).FullName;
        string[] selected = ["--set", "metrics=[accuracy, nll, {type: ece, bins: 15}, mean-confidence]"];

        // Without the variable the name is unknown: the plugin is found through $SNE_PLUGIN_PATH only.
        var unknown = Sne.Run(["validate", Repo.Example("spirals.yaml"), .. selected]);
        unknown.ExitCode.ShouldBe(2, unknown.Output);
        unknown.Stderr.ShouldContain("mean-confidence");

        // A folder in the variable that does not exist is an error naming it, not silently skipped.
        var missing = Sne.RunWithEnvironment(new Dictionary<string, string> { ["SNE_PLUGIN_PATH"] = Path.Combine(dir.Path, "nowhere") },
            ["validate", Repo.Example("spirals.yaml"), .. selected]);
        missing.ExitCode.ShouldBe(3, missing.Output);
        OneLineError(missing).ShouldContain($"plugin directory '{Path.Combine(dir.Path, "nowhere")}' does not exist");

        string run = Path.Combine(dir.Path, "run");
        var result = Sne.RunWithEnvironment(new Dictionary<string, string> { ["SNE_PLUGIN_PATH"] = $"{empty}:{plugins}" },
            ["run", Repo.Example("spirals.yaml"), "--out", run, .. QuickSpirals.Overrides, "--set", "parent.epochs=2", "--set", "children.tuning.epochs=1", .. selected]);
        result.ExitCode.ShouldBe(0, result.Output);

        // The plugin computed on the real probabilities: its value is the mean confidence recomputed from the .npy files.
        var results = Sne.Results(run);
        var saved = IndependentMetrics.Read(run);
        double MeanConfidence(double[][] p) => p.Average(row => row.Max());
        results["parent"]!["mean_confidence"]!.GetValue<double>().ShouldBe(MeanConfidence(saved.Parent), 1e-6);
        results["ensemble"]!["mean_confidence"]!.GetValue<double>().ShouldBe(MeanConfidence(IndependentMetrics.Mean(saved.Members)), 1e-6);
    }

    [Trait("Category", "e2e")]
    [Theory]
    [InlineData("[\"*.fc2.weight\", \"*.out.weight\"]", false, "layers.fc2.weight")]                     // the output layer matches the glob but is excluded
    [InlineData("[\"*.fc?.weight\", \"*.out.weight\"]", true, "layers.fc1.weight,layers.fc2.weight,layers.fc3.weight,layers.out.weight")]
    public void Maskable_globs_and_mask_output_layer_choose_which_weights_are_masked_and_biases_never_are(string maskable, bool outputLayer, string expected)
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        // compact: off — a 2-input fc1 partitioned by connections loses some whole rows, which compaction would remove.
        var result = QuickSpirals.Run(run, null, "--set", "parent.epochs=1", "--set", "children.tuning=none", "--set", "children.compact=off",
            "--set", $"children.maskable={maskable}", "--set", $"children.mask_output_layer={(outputLayer ? "true" : "false")}");
        result.ExitCode.ShouldBe(0, result.Output);

        using var parent = TestModels.SpiralsMlp(Path.Combine(run, "parent.ckpt"));
        using var first = TestModels.SpiralsMlp(Path.Combine(run, "children", "child-000.ckpt"));
        using var second = TestModels.SpiralsMlp(Path.Combine(run, "children", "child-001.ckpt"));
        var masked = expected.Split(',');
        var parentState = parent.state_dict();
        foreach (var child in new[] { first, second })
        {
            var state = child.state_dict();
            state.Keys.Where(k => k.EndsWith("_mask", StringComparison.Ordinal)).Order()
                .ShouldBe(child.MaskedLayers.Select(l => l.Name + "_mask").Order(), "only weights carry masks; no bias has one");
            foreach (var layer in child.MaskedLayers)
            {
                using var ones = layer.Mask.eq(1).all();
                ones.ToBoolean().ShouldBe(!masked.Contains(layer.Name), $"{layer.Name}: masked = {masked.Contains(layer.Name)}");
                // ξ = prune: the child is the parent's weight times its mask, exactly; the bias is the parent's, untouched.
                using var pruned = parentState[layer.Name] * layer.Mask;
                layer.weight.IsSameAs(pruned).ShouldBeTrue($"{layer.Name} is the parent's weight ⊙ its mask");
                string bias = layer.Name[..^"weight".Length] + "bias";
                state[bias].IsSameAs(parentState[bias]).ShouldBeTrue($"{bias} equals the parent's");
            }
        }
        // 2-way partition: the two children's masks of a masked layer are complements (M and 1 − M).
        foreach (var name in masked)
        {
            using var sum = first.MaskedLayers.Single(l => l.Name == name).Mask + second.MaskedLayers.Single(l => l.Name == name).Mask;
            using var complement = sum.eq(1).all();
            complement.ToBoolean().ShouldBeTrue($"{name}: M and 1 − M");
        }
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Select_by_accuracy_keeps_the_top_k_children_by_validation_accuracy()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = QuickSpirals.Run(run, null, "--set", "children.count=4", "--set", "children.keep=2", "--set", "children.select_by=accuracy",
            "--set", "children.tuning.epochs=1", "--set", "children.include_parent=false");
        result.ExitCode.ShouldBe(0, result.Output);

        var scores = Enumerable.Range(0, 4).Select(i =>
        {
            var child = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(run, "children", $"child-{i:D3}.json")))!;
            // Both are recorded: accuracy ranks, NLL breaks ties (accuracy moves in steps of 1/N).
            return (Index: i, Accuracy: child["validation_accuracy"]!.GetValue<double>(), Nll: child["validation_nll"]!.GetValue<double>());
        }).ToList();
        scores.Select(s => s.Accuracy).Distinct().Count().ShouldBeGreaterThan(1, "the children's validation accuracies must differ for the selection to be checked");
        var expected = scores.OrderByDescending(s => s.Accuracy).ThenBy(s => s.Nll).ThenBy(s => s.Index).Take(2).Select(s => s.Index).Order().ToList();

        var results = Sne.Results(run);
        results["ensemble"]!["member_indices"]!.AsArray().Select(n => n!.GetValue<int>()).ShouldBe(expected);
        results["members"]!.AsArray().Select(m => m!["selected"]!.GetValue<bool>()).ShouldBe(Enumerable.Range(0, 4).Select(expected.Contains));

        // members.npy holds exactly the selected children's test probabilities, in order.
        var (shape, members) = NpyReader.ReadFloat(Path.Combine(run, "predictions", "members.npy"));
        shape[0].ShouldBe(2);
        int rows = members.Length / 2;
        for (int m = 0; m < 2; m++)
        {
            var (_, child) = NpyReader.ReadFloat(Path.Combine(run, "children", $"child-{expected[m]:D3}.npy"));
            members.AsSpan(m * rows, rows).SequenceEqual(child).ShouldBeTrue($"members.npy row {m} is child {expected[m]}");
        }
        var saved = IndependentMetrics.ShouldMatchParentAndMembers(run);
        IndependentMetrics.ShouldMatchSingleModelMetrics(results["ensemble"]!, IndependentMetrics.Mean(saved.Members), saved.Labels, "ensemble");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_lenet_run_on_a_fashion_mnist_subset_trains_masks_its_convolutions_and_reports_metrics_from_its_predictions()
    {
        const string Data = "/usr/share/datasets/fashion-mnist";
        File.Exists(Path.Combine(Data, "train-images-idx3-ubyte.gz")).ShouldBeTrue($"Fashion-MNIST is needed in {Data} (apt-get install -y dataset-fashion-mnist; ./sne test does it)");
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = Sne.Run("run", Repo.Example("fashion-mnist-sparse.yaml"), "--out", run, "--set", "threads=1", "--set", "model.type=lenet",
            "--set", "data.train_subset=1000", "--set", "data.test_subset=500", "--set", "parent.epochs=3", "--set", "parent.batch_size=64",
            "--set", "children.count=2", "--set", "children.tuning.epochs=1");
        result.ExitCode.ShouldBe(0, result.Output);

        var results = Sne.Results(run);
        results["data"]!["train"]!.GetValue<int>().ShouldBe(1000);
        results["data"]!["test"]!.GetValue<int>().ShouldBe(500);
        using (var lenet = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10))
            results["parent"]!["parameters"]!.GetValue<long>().ShouldBe(lenet.ParameterCount);
        results["parent"]!["accuracy"]!.GetValue<double>().ShouldBeGreaterThan(0.5, "3 epochs on 1000 images learn far beyond chance (0.1)");
        results["ensemble"]!["accuracy"]!.GetValue<double>().ShouldBeGreaterThan(0.5);

        using var child = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10);
        SubnetworkEnsembles.Experiments.Pipeline.SparseCheckpoint.Load(child, Path.Combine(run, "children", "child-000.ckpt"));
        child.MaskedLayers.Select(l => l.Name).ShouldBe(["features.conv1.weight", "features.conv2.weight", "classifier.fc1.weight", "classifier.fc2.weight", "classifier.out.weight"]);
        foreach (var layer in child.MaskedLayers)
        {
            using var kept = layer.Mask.mean();
            kept.ToDouble().ShouldBe(0.5, 0.05, $"{layer.Name}: 2-way partition keeps half");
        }

        var saved = IndependentMetrics.ShouldMatchParentAndMembers(run);
        IndependentMetrics.ShouldMatchSingleModelMetrics(results["ensemble"]!, IndependentMetrics.Mean(saved.Members), saved.Labels, "ensemble");
    }
}
