using Shouldly;
using SubnetworkEnsembles.Analyses;
using SubnetworkEnsembles.Analyses.Internal;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>Feature visualisation: the optimum of a linear layer, the seeded transformations, the shared images.</summary>
public class FeatureVisAnalysisTests
{
    [Trait("Category", "unit")]
    [Fact]
    public void On_a_linear_layer_the_optimised_input_moves_along_the_weight_row()
    {
        // a_k(x) = w_k · x + b_k has the constant gradient w_k, so Adam's bias-corrected moments are m̂ = w_k and
        // v̂ = w_k² exactly and each step adds rate · w_k / (|w_k| + ε): after T steps x_T − x₀ = T · rate · sign(w_k).
        // With a row of equal magnitudes (±0.5) that is the weight row's direction: cosine 1. (Rows [F] are not images:
        // no transformation applies.)
        using var scope = NewDisposeScope();
        using var generator = new Generator(8);
        var hidden = nn.Linear(6, 3);
        using (no_grad())
        {
            hidden.weight!.copy_(randn(3, 6, generator: generator));
            hidden.weight![1].copy_(tensor(new float[] { 0.5f, -0.5f, 0.5f, 0.5f, -0.5f, -0.5f }));
        }
        var network = nn.Sequential(("hidden", hidden), ("relu", nn.ReLU()), ("out", nn.Linear(3, 2)));
        var (name, layer) = FeatureVisualisation.FindLayer(network, "");
        name.ShouldBe("hidden");
        FeatureVisualisation.Channels(network, layer, [6], CPU).ShouldBe(3);
        using var plan = FeatureVisualisation.Plan([6], 20, 0.01, generator);
        var (images, activations) = FeatureVisualisation.Maximise(network, layer, [0, 1, 2], plan, 20, 0.05, CPU);
        images.shape.ShouldBe([3, 6]);
        var moved = images - plan.Start;
        var expected = hidden.weight!.detach().sign() * (20 * 0.05);
        moved.allclose(expected, rtol: 1e-4, atol: 1e-5).ShouldBeTrue();
        using var direct = hidden.call(images);
        for (int k = 0; k < 3; k++) activations[k].ShouldBe(direct[k, k].item<float>(), 1e-5);
        var delta = moved[1];
        var w = hidden.weight![1].detach();
        (delta.dot(w) / (delta.norm() * w.norm())).item<float>().ShouldBe(1f, 1e-5f);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void The_transformations_are_a_function_of_the_generator()
    {
        using var scope = NewDisposeScope();
        var image = arange(2 * 16 * 16, dtype: ScalarType.Float32).reshape(1, 2, 16, 16).sin();
        Tensor Run(ulong seed)
        {
            using var generator = new Generator(seed);
            using var plan = FeatureVisualisation.Plan([2, 16, 16], 5, 0.01, generator);
            plan.Scales.ShouldAllBe(s => s >= 0.95 && s <= 1.05);
            plan.Angles.ShouldAllBe(a => Math.Abs(a) <= 5 * Math.PI / 180);
            plan.Shifts.ShouldAllBe(s => Math.Abs(s[0]) <= 8 && Math.Abs(s[1]) <= 8 && Math.Abs(s[2]) <= 4 && Math.Abs(s[3]) <= 4);
            return stack([.. Enumerable.Range(0, 5).Select(t => FeatureVisualisation.Transform(image, plan, t))]);
        }
        var a = Run(3);
        a.shape.ShouldBe([5, 1, 2, 16, 16]);
        a.allclose(Run(3), rtol: 0, atol: 0).ShouldBeTrue();
        a.allclose(Run(4), rtol: 0, atol: 0).ShouldBeFalse();
        (a[0] - image).abs().max().item<float>().ShouldBeGreaterThan(0.1f);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void The_grid_has_a_row_per_channel_and_its_hash_tables_equal_perceptual_hash_of_the_same_images()
    {
        using var scratch = new AnalysisScratch();
        var context = scratch.Context;
        var output = new FeatureVisAnalysis(new FeatureVisOptions { Channels = 2, Steps = 5 }).Run(context);
        output.Tables.Select(t => t.Name).ShouldBe(["activation", "rmse", "ahash", "phash", "dhash", "whash", "colorhash"]);
        output.Tables[0].ColumnLabels.Count.ShouldBe(2);
        var png = File.ReadAllBytes(Path.Combine(scratch.FigureDirectory, "features.png"));
        // 8 × 8 images enlarged 8×: 2 rows (channels) and 3 columns (networks) of 64 + 2 px.
        System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)).ShouldBe(3 * 66 + 2);
        System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)).ShouldBe(2 * 66 + 2);
        using var scratch2 = new AnalysisScratch();
        var context2 = scratch2.Context;
        var hashes = new PerceptualHashAnalysis(new PerceptualHashOptions { Source = HashedImages.FeatureVis, Channels = 2, Steps = 5 }).Run(context2);
        hashes.Tables.Count.ShouldBe(5);
        hashes.Tables.ShouldAllBe(t => t.Values.Length == 3 && t.Values[0][0] == 0);
        hashes.Tables.Sum(t => t.Values[1][2]).ShouldBeGreaterThan(0);
        // feature-vis hashes its own images exactly as perceptual-hash (source: feature-vis) hashes the same images.
        foreach (var table in hashes.Tables)
            output.Tables.Single(t => t.Name == table.Name).Values.ShouldBe(table.Values);
        output.Scalars["dhash_between_children"].ShouldBe(hashes.Scalars["dhash_between_children"]);

        using var scratch3 = new AnalysisScratch();
        var context3 = scratch3.Context;
        new FeatureVisAnalysis(new FeatureVisOptions { Channels = 2, Steps = 5, Hashes = false }).Run(context3).Tables.Select(t => t.Name).ShouldBe(["activation", "rmse"]);
    }
}
