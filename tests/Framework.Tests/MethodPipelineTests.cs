using System.Text.Json.Nodes;
using Shouldly;
using TorchSharp;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>Model selection, trust-region search, untrained children and saved predictions, through the real sne.</summary>
public class MethodPipelineTests
{
    private static double D(JsonNode? n) => n!.GetValue<double>();

    [Trait("Category", "e2e")]
    [Fact]
    public void Noisy_children_with_a_trust_region_search_and_model_selection()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "noisy");
        var result = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", run,
            "--set", "children.count=8", "--set", "children.keep=3", "--set", "children.tuning=none",
            "--set", "children.sampler={type: partition, k: 2, mirror: true}",
            "--set", "children.perturbation={type: mirrored-noise, sigma: 7}",   // off the grid: the children must use the chosen σ
            "--set", "children.trust_region={sigmas: [0.001, 0.01, 0.1, 1.0], target_kl: 0.02, samples: 200}");
        result.ExitCode.ShouldBe(0, result.Output);
        var r = Sne.Results(run);

        // The KL table covers the grid; the choice is the most accurate σ whose KL is near the target (|KL − 0.02| ≤ 0.01),
        // measured on its own holdout, the last 200 of the 250 validation rows.
        var region = r["trust_region"]!;
        region["rule"]!.GetValue<string>().ShouldBe("max-accuracy-near-target");
        region["holdout_rows"]!.AsArray().Select(v => v!.GetValue<long>()).ShouldBe([50L, 250L]);
        var table = region["table"]!.AsArray();
        table.Count.ShouldBe(4);
        table.Select(row => D(row!["sparsity"])).ShouldAllBe(s => Math.Abs(s - 0.5) < 0.01);    // measured from the masks
        var near = table.Where(row => Math.Abs(D(row!["kl"]) - 0.02) <= 0.01).ToList();
        var expected = near.Count > 0
            ? near.OrderByDescending(row => D(row!["accuracy"])).ThenByDescending(row => D(row!["sigma"])).First()
            : table.MinBy(row => Math.Abs(D(row!["kl"]) - 0.02));
        D(region["chosen"]!["sigma"]).ShouldBe(D(expected!["sigma"]));
        table.Count(row => row!["chosen"]?.GetValue<bool>() == true).ShouldBe(1);
        // Each row says whether the rule admits it: exactly the rows near the target.
        table.Where(row => row!["admissible"]!.GetValue<bool>()).ShouldBe(near);
        D(table[3]!["kl"]).ShouldBeGreaterThan(D(table[0]!["kl"]));

        // Untrained children; the 3 most accurate on the other 50 validation rows (ties: lower NLL) and the parent form the ensemble.
        var members = r["members"]!.AsArray();
        members.Count.ShouldBe(8);
        members.ShouldAllBe(m => m!["history"]!.AsArray().Count == 0);
        members.ShouldAllBe(m => Math.Abs(D(m!["validation_accuracy"]) * 50 - Math.Round(D(m!["validation_accuracy"]) * 50)) < 1e-9);
        var best = members.OrderByDescending(m => D(m!["validation_accuracy"])).ThenBy(m => D(m!["validation_nll"])).ThenBy(m => m!["index"]!.GetValue<int>()).Take(3)
            .Select(m => m!["index"]!.GetValue<int>()).Order().ToList();
        members.Where(m => m!["selected"]!.GetValue<bool>()).Select(m => m!["index"]!.GetValue<int>()).ShouldBe(best);
        r["ensemble"]!["members"]!.GetValue<int>().ShouldBe(4);
        r["ensemble"]!["member_indices"]!.AsArray().Select(i => i!.GetValue<int>()).ShouldBe(best.Prepend(-1));

        // The children carry the chosen σ, not the configured 7: on the parent's weights, child 0 adds N ⊙ M₁, child 1
        // N ⊙ M₂ (M₂ = 1 − M₁), children 2 and 3 subtract the same draws, so 0 and 2 average back to the parent
        // and the non-zero changes have standard deviation σ.
        double sigma = D(r["trust_region"]!["chosen"]!["sigma"]);
        using var parent = TestModels.SpiralsMlp(Path.Combine(run, "parent.ckpt"));
        using var child0 = TestModels.SpiralsMlp(Path.Combine(run, "children", "child-000.ckpt"));
        using var child1 = TestModels.SpiralsMlp(Path.Combine(run, "children", "child-001.ckpt"));
        using var child2 = TestModels.SpiralsMlp(Path.Combine(run, "children", "child-002.ckpt"));
        var (p, c0, c1, c2) = (parent.state_dict(), child0.state_dict(), child1.state_dict(), child2.state_dict());
        foreach (var layer in parent.MaskedLayers.Select(l => l.Name))
        {
            using var d0 = c0[layer] - p[layer];
            using var d1 = c1[layer] - p[layer];
            using var mean = (c0[layer] + c2[layer]) / 2 - p[layer];
            mean.abs().max().ToDouble().ShouldBeLessThan(1e-5, $"{layer}: mirrored children average back to the parent");
            using var overlap = d0.ne(0).logical_and(d1.ne(0)).sum();
            overlap.ToInt64().ShouldBe(0, $"{layer}: the two halves of the partition are disjoint");
            using var changed = d0.ne(0).logical_or(d1.ne(0)).to_type(TorchSharp.torch.ScalarType.Float32).mean();
            changed.ToDouble().ShouldBeGreaterThan(0.99, $"{layer}: together they perturb every weight");
            using var all = (d0 + d1).std();
            all.ToDouble().ShouldBe(sigma, sigma * 0.15, $"{layer}: the noise has the chosen σ");
        }

        // The report plots the search and tabulates it.
        File.Exists(Path.Combine(run, "report", "trust-region.png")).ShouldBeTrue();
        File.ReadAllText(Path.Combine(run, "report.md")).ShouldContain("## Trust-region search");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Saved_predictions_reproduce_the_reported_metrics_independently()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "p");
        var result = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", run, "--set", "parent.epochs=5", "--set", "children.tuning.epochs=2",
            "--set", "metrics=[accuracy, nll, disagreement]");
        result.ExitCode.ShouldBe(0, result.Output);
        var r = Sne.Results(run);
        var (shape, probs) = NpyReader.ReadFloat(Path.Combine(run, "predictions", "members.npy"));
        var (labelShape, labels) = NpyReader.ReadLong(Path.Combine(run, "predictions", "labels.npy"));
        int m = (int)shape[0], n = (int)shape[1], c = (int)shape[2];
        m.ShouldBe(5, "the parent and 4 children");
        labelShape.ShouldBe([n]);
        int hits = 0; double nll = 0, disagree = 0; int pairs = 0;
        for (int i = 0; i < n; i++)
        {
            var mean = new double[c];
            for (int k = 0; k < m; k++) for (int j = 0; j < c; j++) mean[j] += probs[(k * n + i) * c + j] / m;
            if (Array.IndexOf(mean, mean.Max()) == labels[i]) hits++;
            nll -= Math.Log(Math.Max(mean[labels[i]], 1e-12));
        }
        for (int a = 0; a < m; a++) for (int b = 0; b < m; b++)
        {
            if (a == b) continue;
            int differ = 0;
            for (int i = 0; i < n; i++)
                if (ArgMax(probs, (a * n + i) * c, c) != ArgMax(probs, (b * n + i) * c, c)) differ++;
            disagree += (double)differ / n; pairs++;
        }
        D(r["ensemble"]!["accuracy"]).ShouldBe((double)hits / n, 1e-9);
        D(r["ensemble"]!["nll"]).ShouldBe(nll / n, 1e-5);
        D(r["ensemble"]!["disagreement"]).ShouldBe(disagree / pairs, 1e-9);
        r["ensemble"]!["pairwise"]!["disagreement"]!.AsArray().Count.ShouldBe(5);
    }

    private static int ArgMax(float[] data, int offset, int count)
    {
        int best = 0;
        for (int j = 1; j < count; j++) if (data[offset + j] > data[offset + best]) best = j;
        return best;
    }
}
