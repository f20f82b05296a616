using System.Globalization;
using System.Text.Json.Nodes;
using Shouldly;
using SubnetworkEnsembles.Host.Benchmarks;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>The benchmark suite: the smoke size end to end (every table, real runs on a Fashion-MNIST subset) and its statistics.</summary>
public class BenchmarkSuiteTests
{
    [Trait("Category", "unit")]
    [Fact]
    public void Mean_and_standard_error_over_seeds()
    {
        BenchmarkRunner.MeanSe([0.80, 0.82, 0.84], "Acc").ShouldBe("0.8200 ± 0.0115");   // s.e. = 0.02 / √3
        BenchmarkRunner.MeanSe([0.8], "Acc").ShouldBe("0.8000");
        BenchmarkRunner.MeanSe([null, double.NaN], "Acc").ShouldBe("–");
        BenchmarkRunner.MeanSe([48, 48], "epochs").ShouldBe("48");
        BenchmarkRunner.MeanSe([0.8959, 0.8959], "Acc").ShouldBe("0.8959 ± 0.0000");           // two seeds that agree, not one
    }

    private static Dictionary<(string Row, string Column, string Metric), double> Csv(string file)
    {
        var values = new Dictionary<(string, string, string), double>();
        foreach (var line in File.ReadLines(file).Skip(1))
        {
            var cells = Split(line);
            if (cells[5].Length > 0) values[(cells[1], cells[2], cells[3])] = double.Parse(cells[5], CultureInfo.InvariantCulture);
        }
        return values;
    }

    private static List<string> Split(string line)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted && c == '"' && i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
            else if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(c);
        }
        cells.Add(cell.ToString());
        return cells;
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Smoke_suite_fills_every_table_from_real_runs()
    {
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "bench");
        // T7 has its own test below (it is the only table that runs analyses).
        var result = Sne.Run(["bench", "smoke", "--out", output, .. new[] { "T1", "T2", "T3", "T4", "T5", "T6" }.SelectMany(t => new[] { "--tables", t })]);
        result.ExitCode.ShouldBe(0, result.Output);
        foreach (var t in new[] { "T1", "T2", "T3", "T4", "T5", "T6" })
        {
            File.Exists(Path.Combine(output, $"{t}.md")).ShouldBeTrue(t);
            File.ReadAllText(Path.Combine(output, "suite.md")).ShouldContain($"## {t}.");
        }
        File.ReadAllText(Path.Combine(output, "commands.txt")).ShouldContain("sne run examples/baselines/dense-ensemble.yaml");

        var t1 = Csv(Path.Combine(output, "T1.csv"));
        t1.Keys.Where(k => k.Metric == "Acc").Count().ShouldBe(10, "5 methods × 2 models");
        t1.Where(kv => kv.Key.Metric == "Acc").ShouldAllBe(kv => kv.Value > 0.3 && kv.Value <= 1);
        t1.Where(kv => kv.Key.Metric == "epochs").ShouldAllBe(kv => kv.Value == 16, "T1 is an equal budget of 16 epochs");
        t1[("MLP: Bagging (8 × 2 epochs, 90 % subsets)", "", "members")].ShouldBe(8);

        var t2 = Csv(Path.Combine(output, "T2.csv"));
        t2[("Dense ensemble (M 4, 4 × 12)", "", "epochs")].ShouldBe(48);
        t2[("Dense ensemble (M 4, 4 × 12)", "", "train FLOPs (× one model)")].ShouldBe(4, 1e-9);
        t2[("SSE (NP + one-cycle, 8 + 4 × 1)", "", "train FLOPs (× one model)")].ShouldBe(1, 1e-9);
        t2.Keys.Where(k => k.Metric == "cAcc").Count().ShouldBe(7, "every T2 method, MC dropout included, is evaluated on the corrupted sets");

        var t3 = Csv(Path.Combine(output, "T3.csv"));
        t3.Count.ShouldBe(12 * 5, "6 methods (4 random, 2 magnitude) × 2 schedules × 5 sparsities");

        // T6's ensemble of all 64 children, recomputed from members.npy, equals the run's own ensemble evaluation.
        var t6 = Csv(Path.Combine(output, "T6.csv"));
        var run = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "runs", "t6-64-children-s0", "results.json")))!;
        t6[("64", "", "Acc")].ShouldBe(run["ensemble"]!["accuracy"]!.GetValue<double>(), 1e-6);
        t6[("64", "", "NLL")].ShouldBe(run["ensemble"]!["nll"]!.GetValue<double>(), 1e-4);
        // The parent is a member: row "0" is the parent alone, row "1" the parent and child 0.
        run["ensemble"]!["includes_parent"]!.GetValue<bool>().ShouldBeTrue();
        t6[("0 (the parent)", "", "Acc")].ShouldBe(run["parent"]!["accuracy"]!.GetValue<double>(), 1e-6);
        var saved = IndependentMetrics.Read(Path.Combine(output, "runs", "t6-64-children-s0"));
        t6[("1", "", "Acc")].ShouldBe(IndependentMetrics.Accuracy(IndependentMetrics.Mean(saved.Members[..2]), saved.Labels), 1e-6);

        // T4's σ is the most accurate setting with KL near 0.02 (or the closest), recomputed from each run's table.
        foreach (var file in Directory.GetDirectories(Path.Combine(output, "runs"), "t4-*").Select(d => Path.Combine(d, "results.json")))
        {
            var region = JsonNode.Parse(File.ReadAllText(file))!["trust_region"]!;
            var rows = region["table"]!.AsArray().Select(r => (Kl: r!["kl"]!.GetValue<double>(), Accuracy: r["accuracy"]!.GetValue<double>(),
                Strength: Math.Pow(r["sigma"]!.GetValue<double>(), 2) * (1 - r["sparsity"]!.GetValue<double>()), Sigma: r["sigma"]!.GetValue<double>())).ToList();
            int chosen = Experiments.Pipeline.TrustRegionSearch.Choose(rows, new Experiments.Configuration.TrustRegionConfig { TargetKl = 0.02 }, out _);
            region["chosen"]!["sigma"]!.GetValue<double>().ShouldBe(rows[chosen].Sigma, file);
        }

        // A second invocation finds every run finished and only re-tabulates: no file of any run directory is written
        // again (a run that trained would rewrite at least its results.json, checkpoints and log), and T6 is the same.
        string runs = Path.Combine(output, "runs");
        var filesBefore = RunFiles(runs);
        filesBefore.ShouldContain(f => f.StartsWith(Path.Combine("t6-64-children-s0", "results.json") + " ", StringComparison.Ordinal));
        string t6Before = File.ReadAllText(Path.Combine(output, "T6.csv"));
        File.Delete(Path.Combine(output, "T6.csv"));
        var again = Sne.Run("bench", "smoke", "--out", output, "--tables", "T6");
        again.ExitCode.ShouldBe(0, again.Output);
        RunFiles(runs).ShouldBe(filesBefore, "the second invocation trained nothing");
        File.ReadAllText(Path.Combine(output, "T6.csv")).ShouldBe(t6Before);
        again.Stdout.ShouldContain("| 64 |");
        // commands.txt keeps the first invocation's commands beside the second's (T6 only).
        var commands = File.ReadAllLines(Path.Combine(output, "commands.txt"));
        commands.ShouldContain(l => l.StartsWith("sne run examples/baselines/dense-ensemble.yaml", StringComparison.Ordinal));
        commands.Count(l => l.Contains("--out runs/t6-64-children-s0", StringComparison.Ordinal)).ShouldBe(1);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Smoke_T7_reads_the_analyses_of_an_sse_and_a_snapshot_run()
    {
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "bench");
        var result = Sne.Run("bench", "smoke", "--out", output, "--tables", "T7");
        result.ExitCode.ShouldBe(0, result.Output);
        // T7 reads the analyses' scalars: recomputed here from the tables in results.json.
        var t7 = Csv(Path.Combine(output, "T7.csv"));
        t7.Count.ShouldBe(20 * 2, "18 analysis measures + accuracy + disagreement, SSE and Snapshot");
        foreach (var (column, slug) in new[] { ("SSE (NP 2-way, 8 + 2 × 1)", "sse"), ("Snapshot (4 + 2 cycles × 3)", "snapshot") })
        {
            var analyses = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "runs", $"t7-{slug}-s0", "results.json")))!["analyses"]!.AsArray();
            double[][] Table(string analysis, string table) => analyses.Single(a => a!["name"]!.GetValue<string>() == analysis)!["tables"]!.AsArray()
                .Single(t => t!["name"]!.GetValue<string>() == table)!["values"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<double>()).ToArray()).ToArray();
            // Members: the parent (row 0), then two children: "between children" is entry [1][2], "to the parent" the mean of [0][1], [0][2].
            var rmse = Table("smoothgrad", "rmse");
            t7[("SmoothGrad RMSE between children", column, "value")].ShouldBe(rmse[1][2], 1e-9);
            t7[("SmoothGrad RMSE to the parent", column, "value")].ShouldBe((rmse[0][1] + rmse[0][2]) / 2, 1e-9);
            t7[("Feature-vis dhash between children", column, "value")].ShouldBe(Table("feature-vis", "dhash")[1][2], 1e-9);
            t7[("SmoothGrad phash between children", column, "value")].ShouldBe(Table("perceptual-hash", "phash")[1][2], 1e-9);
        }
        // A snapshot child starts from the parent unchanged: its surface before tuning is the parent's, to the last digit.
        t7[("Loss surface around the first child before tuning: mean loss", "Snapshot (4 + 2 cycles × 3)", "value")]
            .ShouldBe(t7[("Loss surface around the parent: mean loss", "Snapshot (4 + 2 cycles × 3)", "value")], 1e-9);
        t7[("Loss surface around the first child before tuning: mean loss", "SSE (NP 2-way, 8 + 2 × 1)", "value")]
            .ShouldNotBe(t7[("Loss surface around the parent: mean loss", "SSE (NP 2-way, 8 + 2 × 1)", "value")], "a pruned child is not its parent");
        File.ReadAllText(Path.Combine(output, "T7.md")).ShouldContain("runs/t7-sse-s0/analyses/feature-vis/features.png");

    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Resnet_smoke_suite_fills_r1_and_r2_with_resnet20_runs_and_r2_prunes_r1s_independent_model()
    {
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "bench");
        var result = Sne.Run("bench", "resnet-smoke", "--out", output);
        result.ExitCode.ShouldBe(0, result.Output);

        var r1 = Csv(Path.Combine(output, "R1.csv"));
        r1[("Independent (10 epochs)", "", "epochs")].ShouldBe(10);
        r1[("SSE (NP + one-cycle, 6 + 4 × 1, parent a member)", "", "epochs")].ShouldBe(10);
        r1[("SSE (NP + one-cycle, 6 + 4 × 1, parent a member)", "", "members")].ShouldBe(5, "4 children and the parent");
        r1[("Dense ensemble (M 4, 4 × 10)", "", "epochs")].ShouldBe(40);
        r1[("Dense ensemble (M 4, 4 × 10)", "", "train FLOPs (× one model)")].ShouldBe(4, 1e-9);
        r1.Where(kv => kv.Key.Metric == "Acc").ShouldAllBe(kv => kv.Value > 0 && kv.Value <= 1);

        // Every run is a ResNet-20 (272,186 parameters for 1 channel and 10 classes), and R2's children are cut from R1's
        // independent model: their parent is its checkpoint, not a model of their own.
        string runs = Path.Combine(output, "runs");
        foreach (var run in Directory.GetDirectories(runs))
            JsonNode.Parse(File.ReadAllText(Path.Combine(run, "results.json")))!["parent"]!["parameters"]!.GetValue<long>().ShouldBe(272186, run);
        var r2 = Csv(Path.Combine(output, "R2.csv"));
        r2.Count.ShouldBe(4, "2 methods × 2 sparsities");
        string parent = Path.Combine(runs, "r1-independent-s0", "parent.ckpt");
        foreach (var child in Directory.GetDirectories(runs, "r2-*"))
        {
            File.ReadAllText(Path.Combine(child, "config.yaml")).ShouldContain(parent);
            var member = JsonNode.Parse(File.ReadAllText(Path.Combine(child, "results.json")))!["members"]![0]!;
            member["sparsity"]!.GetValue<double>().ShouldBe(child.Contains("-0.9-", StringComparison.Ordinal) ? 0.9 : 0.5, 0.02);
        }
    }

    /// <summary>Every file under <paramref name="runs"/> as "relative path, length, last write time (ticks)", sorted.</summary>
    private static List<string> RunFiles(string runs) =>
        Directory.GetFiles(runs, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetRelativePath(runs, f)} {new FileInfo(f).Length} {File.GetLastWriteTimeUtc(f).Ticks}").ToList();
}
