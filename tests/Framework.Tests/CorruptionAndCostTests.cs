using Shouldly;
using SubnetworkEnsembles.Engine.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>Fashion-MNIST-C: every corruption is deterministic under its seed, stays in [0, 1] and grows with severity.</summary>
public class CorruptionTests
{
    private static readonly Lazy<Tensor> Images = new(() =>
    {
        var (_, pixels) = IdxFile.Read("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", 3);
        using var all = tensor(pixels[..(64 * 28 * 28)], [64, 1, 28, 28]);
        return all.to_type(ScalarType.Float32).div(255);
    });

    public static IEnumerable<object[]> All() => Enum.GetValues<Corruption>().Select(c => new object[] { c });

    [Trait("Category", "unit")]
    [Theory]
    [MemberData(nameof(All))]
    public void A_corruption_is_deterministic_in_range_and_monotone_in_severity(Corruption corruption)
    {
        var clean = Images.Value;
        var distances = new double[Corruptions.Severities];
        for (int s = 1; s <= Corruptions.Severities; s++)
        {
            using var a = Corruptions.Apply(clean, corruption, s, seed: 7);
            using var b = Corruptions.Apply(clean, corruption, s, seed: 7);
            a.shape.ShouldBe(clean.shape);
            a.IsSameAs(b).ShouldBeTrue($"{corruption} severity {s} is not deterministic");
            a.min().ToSingle().ShouldBeGreaterThanOrEqualTo(0f);
            a.max().ToSingle().ShouldBeLessThanOrEqualTo(1f);
            using var diff = (a - clean).abs().mean();
            distances[s - 1] = diff.ToDouble();
        }
        for (int s = 1; s < Corruptions.Severities; s++)
            distances[s].ShouldBeGreaterThan(distances[s - 1], $"{corruption}: mean |corrupted − clean| by severity: {string.Join(", ", distances.Select(d => d.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)))}");
        distances[0].ShouldBeGreaterThan(0.001);
    }

    [Trait("Category", "unit")]
    [Theory]
    [InlineData(Corruption.GaussianNoise)]
    [InlineData(Corruption.ShotNoise)]
    [InlineData(Corruption.ImpulseNoise)]
    [InlineData(Corruption.MotionBlur)]
    [InlineData(Corruption.ElasticTransform)]
    public void Random_corruptions_depend_on_the_seed(Corruption corruption)
    {
        using var a = Corruptions.Apply(Images.Value, corruption, 3, seed: 1);
        using var b = Corruptions.Apply(Images.Value, corruption, 3, seed: 2);
        a.IsSameAs(b).ShouldBeFalse();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Bad_arguments_are_refused()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => Corruptions.Apply(Images.Value, Corruption.Contrast, 6, 0));
        using var flat = zeros(4, 784);
        Should.Throw<ArgumentException>(() => Corruptions.Apply(flat, Corruption.Contrast, 1, 0));
    }
}

/// <summary>Parameter and FLOP counts against hand-computed values.</summary>
public class CostTests
{
    [Trait("Category", "unit")]
    [Fact]
    public void An_mlp_costs_two_flops_per_weight_and_masks_count_only_in_the_sparse_figure()
    {
        using var model = TestModels.Mlp([1, 4, 4], [8], 3);
        var layers = FlopCounter.Layers(model);
        layers.Select(l => (l.Kind, l.Weights, l.Biases, l.ForwardFlops)).ShouldBe([("linear", 128L, 8L, 256L), ("linear", 24L, 3L, 48L)]);
        FlopCounter.ForwardFlops(model).ShouldBe(304);
        FlopCounter.TrainingFlops(model, samples: 1000, epochs: 2).ShouldBe(3.0 * 304 * 1000 * 2);

        using (no_grad()) model.MaskedLayers[0].Mask.narrow(0, 0, 4).zero_();   // half of the first layer's rows masked
        model.MaskedLayers[0].RefreshMaskState();
        var masked = FlopCounter.Layers(model)[0];
        masked.NonZeroWeights.ShouldBe(64);
        masked.SparseForwardFlops.ShouldBe(128);
        masked.ForwardFlops.ShouldBe(256);   // computed densely
    }

    [Trait("Category", "unit")]
    [Fact]
    public void LeNet_small_convolutions_cost_per_output_position()
    {
        using var model = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10);
        var layers = FlopCounter.Layers(model);
        // conv1 1→16, 5×5, padding 2: 28×28 outputs; conv2 16→32, 5×5 on 14×14: 10×10 outputs; fc 800→256→128→10.
        layers.Select(l => l.ForwardFlops).ShouldBe([2L * 400 * 784, 2L * 12800 * 100, 2L * 204800, 2L * 32768, 2L * 1280]);
        FlopCounter.ForwardFlops(model).ShouldBe(3_664_896);
        layers[0].Kind.ShouldBe("conv2d");
    }
}

/// <summary>A real Fashion-MNIST run reports the corrupted test sets and its cost in results.json and in the report.</summary>
public class CorruptedRunTests
{
    [Trait("Category", "e2e")]
    [Fact]
    public void Results_carry_corrupted_metrics_beside_the_clean_ones_and_the_cost_of_the_run()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = Sne.Run("run", Repo.Example("fashion-mnist-sparse.yaml"), "--out", run, "--set", "data.train_subset=2000", "--set", "data.test_subset=500",
            "--set", "parent.epochs=2", "--set", "children.count=2", "--set", "children.tuning.epochs=1",
            "--set", "corruptions={kinds: [gaussian-noise, contrast, elastic-transform], severities: [1, 5]}");
        result.ExitCode.ShouldBe(0, result.Output);
        var r = Sne.Results(run);

        var corrupted = r["corrupted"]!;
        var table = corrupted["table"]!.AsArray();
        table.Count.ShouldBe(6);
        table.Select(t => $"{t!["kind"]}/{t["severity"]}").ShouldBe(["gaussian-noise/1", "gaussian-noise/5", "contrast/1", "contrast/5", "elastic-transform/1", "elastic-transform/5"]);
        foreach (var key in new[] { "accuracy", "nll", "ece" })
            corrupted["ensemble"]![key]!.GetValue<double>().ShouldBe(table.Average(t => t![$"ensemble_{key}"]!.GetValue<double>()), 1e-12);
        // Severity 5 of contrast hurts far more than severity 1; the clean test accuracy is the best of all.
        table[3]!["ensemble_accuracy"]!.GetValue<double>().ShouldBeLessThan(table[2]!["ensemble_accuracy"]!.GetValue<double>() - 0.1);
        corrupted["ensemble"]!["accuracy"]!.GetValue<double>().ShouldBeLessThan(r["ensemble"]!["accuracy"]!.GetValue<double>());

        var cost = r["cost"]!;
        long forward = 2L * (784 * 512 + 512 * 512 + 512 * 10);
        cost["forward_flops_per_sample"]!.GetValue<long>().ShouldBe(forward);
        cost["masked_weights_computed_densely"]!.GetValue<bool>().ShouldBeTrue();
        cost["epochs"]!["total"]!.GetValue<int>().ShouldBe(2 + 2 * 1);
        cost["training_flops"]!["parent"]!.GetValue<double>().ShouldBe(3.0 * forward * 2000 * 2);
        cost["training_flops"]!["relative_to_independent"]!.GetValue<double>().ShouldBe(2.0);
        cost["parameters"]!["model"]!.GetValue<long>().ShouldBe(669_706);
        // The parent is a member (the default): its non-zero parameters count too.
        r["ensemble"]!["includes_parent"]!.GetValue<bool>().ShouldBeTrue();
        cost["parameters"]!["ensemble_nonzero"]!.GetValue<long>().ShouldBe(r["members"]!.AsArray().Sum(m => m!["nonzero_parameters"]!.GetValue<long>())
            + r["parent"]!["nonzero_parameters"]!.GetValue<long>());

        string md = File.ReadAllText(Path.Combine(run, "report.md"));
        md.ShouldContain("## Corrupted test sets (mean over 6 corruption × severity sets)");
        md.ShouldContain("## Cost (dense: masked weights are computed densely)");
    }
}
