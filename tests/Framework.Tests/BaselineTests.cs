using System.Text.Json.Nodes;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Optimizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// Every baseline of examples/baselines/ run on spirals (a 2-32-32-2 MLP), checking what makes it that baseline: who the
/// members are, where they start, which rows they train on, what they cost — and the mechanisms behind them.
/// </summary>
public class BaselineTests
{
    private static (JsonObject Results, string Run) Baseline(TempDir dir, string file, params string[] sets)
    {
        string run = Path.Combine(dir.Path, Path.GetFileNameWithoutExtension(file) + "-" + Guid.NewGuid().ToString("N")[..6]);
        var args = new List<string> { "run", Repo.Example("baselines/" + file), "--out", run, "--quiet",
            "--set", "data={dataset: spirals, validation: 250}", "--set", "model.hidden=[32, 32]" };
        if (file != "snapshot.yaml") args.AddRange(["--set", "parent.schedule.lr=0.003"]);   // the others train the parent at a constant rate
        foreach (var s in sets) args.AddRange(["--set", s]);
        var result = Sne.Run([.. args]);
        result.ExitCode.ShouldBe(0, result.Output);
        return (Sne.Results(run), run);
    }

    private static float[][] MemberProbabilities(string run)
    {
        var (shape, data) = NpyReader.ReadFloat(Path.Combine(run, "predictions", "members.npy"));
        int size = (int)(shape[1] * shape[2]);
        return Enumerable.Range(0, (int)shape[0]).Select(m => data[(m * size)..((m + 1) * size)]).ToArray();
    }

    private static float[] ParentProbabilities(string run) => NpyReader.ReadFloat(Path.Combine(run, "predictions", "parent.npy")).Data;

    private static double MeanAbsDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Average();

    private static int[] Indices(JsonObject results) => results["ensemble"]!["member_indices"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();

    private static double D(JsonNode? node) => node!.GetValue<double>();

    [Trait("Category", "e2e")]
    [Fact]
    public void Independent_model_is_the_parent_alone_at_the_cost_of_one_model()
    {
        using var dir = new TempDir();
        var (r, run) = Baseline(dir, "independent.yaml", "parent.epochs=10");
        r["method"]!.GetValue<string>().ShouldBe("independent");
        Indices(r).ShouldBe([-1]);
        r["members"]!.AsArray().Count.ShouldBe(0);
        D(r["ensemble"]!["accuracy"]).ShouldBe(D(r["parent"]!["accuracy"]));
        D(r["ensemble"]!["nll"]).ShouldBe(D(r["parent"]!["nll"]), 1e-9);
        D(r["parent"]!["accuracy"]).ShouldBeGreaterThan(0.7);
        MemberProbabilities(run).Single().ShouldBe(ParentProbabilities(run));
        r["cost"]!["epochs"]!["total"]!.GetValue<int>().ShouldBe(10);
        D(r["cost"]!["training_flops"]!["relative_to_independent"]).ShouldBe(1.0);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Dropout_baseline_reports_the_deterministic_network_and_monte_carlo_dropout()
    {
        using var dir = new TempDir();
        var (r, run) = Baseline(dir, "dropout.yaml", "parent.epochs=3", "model.dropout=0.2");
        var mc = r["parent"]!["mc_dropout"]!;
        mc["samples"]!.GetValue<int>().ShouldBe(16);
        D(mc["nll"]).ShouldNotBe(D(r["parent"]!["nll"]), "16 stochastic passes differ from the deterministic network");
        D(mc["accuracy"]).ShouldBeGreaterThan(0.6);
        McDropoutRecomputation.AssertReportedIsTheMeanOfSeededPasses(run, passes: 16);
        D(r["ensemble"]!["accuracy"]).ShouldBe(D(r["parent"]!["accuracy"]));
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Dense_ensemble_trains_every_member_from_its_own_initialisation_at_M_times_the_cost()
    {
        using var dir = new TempDir();
        var (r, run) = Baseline(dir, "dense-ensemble.yaml", "parent.epochs=2", "children.tuning.epochs=2", "reference_epochs=2");
        Indices(r).ShouldBe([-1, 0, 1, 2]);
        r["members"]!.AsArray().Select(m => m!["start"]!.GetValue<string>()).ShouldAllBe(s => s == "scratch");
        var probs = MemberProbabilities(run);
        probs[0].ShouldBe(ParentProbabilities(run));
        for (int i = 0; i < probs.Length; i++)
            for (int j = i + 1; j < probs.Length; j++)
                MeanAbsDifference(probs[i], probs[j]).ShouldBeGreaterThan(1e-3, $"members {i} and {j} start from different initialisations");
        r["cost"]!["epochs"]!["total"]!.GetValue<int>().ShouldBe(8);
        D(r["cost"]!["training_flops"]!["relative_to_independent"]).ShouldBe(4.0, 1e-12);
        // NLL is convex in the probabilities: the ensemble's NLL is at most its members' mean NLL.
        double meanNll = r["members"]!.AsArray().Select(m => D(m!["nll"])).Append(D(r["parent"]!["nll"])).Average();
        D(r["ensemble"]!["nll"]).ShouldBeLessThanOrEqualTo(meanNll + 1e-9);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Bagging_trains_each_member_on_its_own_subset_and_counts_only_those_rows()
    {
        using var dir = new TempDir();
        var (r, run) = Baseline(dir, "bagging.yaml", "parent.epochs=1", "children.count=3", "children.tuning.epochs=1");
        Indices(r).ShouldBe([-1, 0, 1, 2]);
        long rows = r["data"]!["train"]!.GetValue<long>();
        long bag = (long)Math.Round(0.9 * rows);
        r["parent"]!["train_rows"]!.GetValue<long>().ShouldBe(bag);
        r["members"]!.AsArray().Select(m => m!["train_rows"]!.GetValue<long>()).ShouldAllBe(n => n == bag);
        var probs = MemberProbabilities(run);
        MeanAbsDifference(probs[1], probs[2]).ShouldBeGreaterThan(1e-3);
        // 4 members × 1 epoch × 90 % of the rows, against one model of reference_epochs: 16 on all rows.
        D(r["cost"]!["training_flops"]!["relative_to_independent"]).ShouldBe(4.0 * bag / (16.0 * rows), 1e-9);
        long forward = r["cost"]!["forward_flops_per_sample"]!.GetValue<long>();
        D(r["cost"]!["training_flops"]!["total"]).ShouldBe(3.0 * forward * bag * 4, 1.0);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Stage_rows_are_a_seeded_subset_without_repeats_or_a_bootstrap_sample_with_them()
    {
        using var inputs = arange(1000, dtype: ScalarType.Float32).unsqueeze(1);
        using var labels = zeros(1000, dtype: ScalarType.Int64);
        using var train = new Engine.Data.InMemoryDataset(inputs.clone(), labels.clone());
        static long[] Rows(Engine.Data.DataRows d) => d.Inputs.squeeze(1).data<float>().Select(v => (long)v).ToArray();

        var subset = new TrainingConfig { Subset = 0.9 };
        using var a = ChildBuilder.StageRows(train, subset, 7)!;
        using var b = ChildBuilder.StageRows(train, subset, 7)!;
        using var c = ChildBuilder.StageRows(train, subset, 8)!;
        Rows(a).Length.ShouldBe(900);
        Rows(a).Distinct().Count().ShouldBe(900, "a subset has no repeats");
        Rows(a).ShouldBe(Rows(b), "the same stage seed draws the same rows");
        Rows(a).ShouldNotBe(Rows(c));

        using var bootstrap = ChildBuilder.StageRows(train, new TrainingConfig { Bootstrap = true }, 7)!;
        Rows(bootstrap).Length.ShouldBe(1000);
        Rows(bootstrap).Distinct().Count().ShouldBeInRange(580, 690, "a bootstrap sample of n from n keeps about 1 − 1/e ≈ 63 % distinct rows");
        ChildBuilder.StageRows(train, new TrainingConfig(), 7).ShouldBeNull("subset 1 without bootstrap trains on the whole split");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Snapshot_members_are_consecutive_cycles_of_one_trajectory()
    {
        using var dir = new TempDir();
        var (r, run) = Baseline(dir, "snapshot.yaml", "parent.epochs=2", "children.count=2", "children.tuning.epochs=2", "reference_epochs=6",
            "parent.schedule.lr_max=0.01", "children.tuning.schedule.lr_max=0.01");
        Indices(r).ShouldBe([-1, 0, 1]);
        r["members"]!.AsArray().Select(m => m!["start"]!.GetValue<string>()).ShouldBe(["parent", "child 0"]);
        D(r["cost"]!["training_flops"]!["relative_to_independent"]).ShouldBe(1.0, 1e-12);
        // Each cycle restarts the cosine at lr_max and ends near lr_min (per-epoch records hold the epoch's last rate).
        foreach (var m in r["members"]!.AsArray())
            D(m!["history"]!.AsArray()[^1]!["lr"]).ShouldBeLessThan(D(m["history"]!.AsArray()[0]!["lr"]));
        var probs = MemberProbabilities(run);
        MeanAbsDifference(probs[1], probs[2]).ShouldBeGreaterThan(1e-4);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Chained_children_accumulate_their_predecessors_changes_and_parent_started_ones_do_not()
    {
        // Noise without tuning makes the chain visible in weight space: chained child k = parent + k + 1 independent
        // draws N(0, σ²), so E‖W_k − W_parent‖² = (k + 1)·σ²·n; children started from the parent all sit at σ²·n.
        using var dir = new TempDir();
        string[] noise = ["parent.epochs=2", "children.count=4", "children.include_parent=false", "children.tuning=none",
            "children.perturbation={type: noise, sigma: 0.05}"];
        var (_, chained) = Baseline(dir, "snapshot.yaml", [.. noise, "children.start=previous"]);
        var (_, siblings) = Baseline(dir, "snapshot.yaml", [.. noise, "children.start=parent"]);
        var spec = PluginSpec.Named("mlp", new MlpOptions { Hidden = [32, 32] });
        spec.Kind = PluginKind.Model;
        var plugins = TestData.Plugins();
        double[] SquaredDistances(string run)
        {
            using var parent = RunDirectory.LoadModel(plugins, spec, [2], 2, Path.Combine(run, "parent.ckpt"));
            return Enumerable.Range(0, 4).Select(i =>
            {
                using var child = RunDirectory.LoadModel(plugins, spec, [2], 2, Path.Combine(run, "children", $"child-{i:D3}.ckpt"));
                return parent.parameters().Zip(child.parameters(), (p, c) => { using var d = c - p; using var s = d.square().sum(); return s.ToDouble(); }).Sum();
            }).ToArray();
        }
        var chain = SquaredDistances(chained);
        var sibling = SquaredDistances(siblings);
        for (int k = 1; k < 4; k++)
        {
            (chain[k] / chain[0]).ShouldBeInRange(0.85 * (k + 1), 1.15 * (k + 1), $"chained: {string.Join(", ", chain)}");
            (sibling[k] / sibling[0]).ShouldBeInRange(0.85, 1.15, $"siblings: {string.Join(", ", sibling)}");
        }
        chain[0].ShouldBe(sibling[0], 1e-9, "child 0 starts from the parent either way, with the same noise draw");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Fge_members_are_the_cycle_ends_after_the_pre_trained_parent()
    {
        using var dir = new TempDir();
        var (r, run) = Baseline(dir, "fge.yaml", "parent.epochs=10", "children.count=3", "reference_epochs=13",
            "children.tuning.schedule={type: triangular, lr_min: 0.0001, lr_max: 0.003}");
        r["ensemble"]!["includes_parent"]!.GetValue<bool>().ShouldBeFalse();
        Indices(r).ShouldBe([0, 1, 2]);
        r["members"]!.AsArray().Select(m => m!["start"]!.GetValue<string>()).ShouldBe(["parent", "child 0", "child 1"]);
        r["cost"]!["epochs"]!["total"]!.GetValue<int>().ShouldBe(13);
        var probs = MemberProbabilities(run);
        MeanAbsDifference(probs[0], ParentProbabilities(run)).ShouldBeGreaterThan(1e-4, "a cycle moves the weights");
        D(r["ensemble"]!["accuracy"]).ShouldBeGreaterThan(0.7);
    }

    [Trait("Category", "e2e")]
    [Theory]
    [InlineData("prune-one-shot.yaml")]
    [InlineData("prune-iterative.yaml")]
    public void Pruning_baselines_end_with_exactly_the_target_count_of_weights(string file)
    {
        using var dir = new TempDir();
        // compact: off — at 90 % some of the 32 hidden units lose every weight, and a compact child would drop them (and
        // their biases, and the output columns reading them) from its parameter count.
        var (r, _) = Baseline(dir, file, "parent.epochs=3", "children.tuning.epochs=2", "children.compact=off");
        // 2-32-32-2 MLP: 1 218 parameters; input (64) and hidden (1 024) weights keep round(0.1 n) = 6 and 102, the
        // output layer is not pruned: 1 218 − 58 − 922 = 238 non-zero parameters.
        r["parent"]!["parameters"]!.GetValue<long>().ShouldBe(1218);
        var child = r["members"]!.AsArray().Single()!;
        child["nonzero_parameters"]!.GetValue<long>().ShouldBe(238);
        D(child["accuracy"]).ShouldBeGreaterThan(0.5);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Triangular_schedule_rises_linearly_to_lr_max_at_mid_stage_and_returns_to_lr_min()
    {
        var schedule = new TriangularSchedule(new TriangularScheduleOptions { LrMin = 0.001, LrMax = 0.011 });
        schedule.At(0, 100).LearningRate.ShouldBe(0.001, 1e-12);
        schedule.At(25, 100).LearningRate.ShouldBe(0.006, 1e-12);
        schedule.At(50, 100).LearningRate.ShouldBe(0.011, 1e-12);
        schedule.At(75, 100).LearningRate.ShouldBe(0.006, 1e-12);
        schedule.At(99, 100).LearningRate.ShouldBe(0.001 + 0.01 * 0.02, 1e-12);
        schedule.At(0, 100).Momentum.ShouldBeNull();
    }

    [Trait("Category", "e2e")]
    [Theory]
    [InlineData("children.count=-1", "children.count: must be ≥ 0, got -1")]
    [InlineData("children.start=scratch", "children.sampler: children trained from scratch (children.start: scratch) have no parent to take a subnetwork of: use sampler full, got 'partition'")]
    [InlineData("children.tuning.subset=1.5", "children.tuning.subset: must be in (0, 1] (the share of training rows), got 1.5")]
    [InlineData("children.start=sideways", "children.start")]
    public void Baseline_keys_are_validated(string set, string message)
    {
        var result = Sne.Run("validate", Repo.Example("spirals.yaml"), "--set", set);
        result.ExitCode.ShouldBe(2, result.Output);
        result.Stderr.ShouldContain(message);
    }
}
