using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Analyses;
using SubnetworkEnsembles.Analyses.Internal;
using SubnetworkEnsembles.Testing;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>SmoothGrad (Smilkov et al. 2017) against hand computations, and the analysis test kit's contract.</summary>
public class SmoothGradAnalysisTests
{
    /// <summary>A linear network logit = W x + b on inputs [2, 3, 3] (flattened to 18 features), 3 classes, seeded weights.</summary>
    private static nn.Module<Tensor, Tensor> LinearNetwork(out Tensor weight)
    {
        using var generator = new Generator(5);
        var linear = nn.Linear(18, 3);
        using (no_grad())
        {
            linear.weight!.copy_(randn(3, 18, generator: generator));
            linear.bias!.copy_(randn(3, generator: generator));
        }
        weight = linear.weight!.detach().clone();
        return nn.Sequential(nn.Flatten(), linear);
    }

    [Trait("Category", "unit")]
    [Theory]
    [InlineData(GradientMagnitude.Absolute, 0.0)]
    [InlineData(GradientMagnitude.Absolute, 0.5)]
    [InlineData(GradientMagnitude.Squared, 2.0)]
    public void On_a_linear_network_the_map_is_the_weights_of_the_class_summed_over_channels_for_any_noise(GradientMagnitude magnitude, double noise)
    {
        // ∂(w_y · x + b_y)/∂x = w_y whatever x is, so every noisy copy has the same gradient and the mean over copies is
        // |w_y| (or w_y²) exactly; summing over the 2 channels gives Σ_c |w_y[c, h, w]|.
        using var network = LinearNetwork(out var weight);
        using var _ = weight;
        using var generator = new Generator(9);
        using var inputs = randn(4, 2, 3, 3, generator: generator);
        using var labels = tensor(new long[] { 0, 2, 1, 2 });
        using var standardNoise = SmoothGradMaps.DrawNoise(inputs, 6, generator);
        using var maps = SmoothGradMaps.Compute(network, inputs, labels, standardNoise, noise, magnitude, SaliencyTarget.Label);
        maps.shape.ShouldBe([4, 3, 3]);
        using var rows = weight.index_select(0, labels).reshape(4, 2, 3, 3);
        using var expected = (magnitude == GradientMagnitude.Absolute ? rows.abs() : rows.square()).sum(1);
        maps.allclose(expected, rtol: 1e-5, atol: 1e-6).ShouldBeTrue();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void The_prediction_target_differentiates_the_predicted_class()
    {
        using var network = LinearNetwork(out var weight);
        using var _ = weight;
        using var generator = new Generator(3);
        using var inputs = randn(5, 2, 3, 3, generator: generator);
        using var labels = zeros(5, dtype: ScalarType.Int64);
        using var standardNoise = SmoothGradMaps.DrawNoise(inputs, 2, generator);
        using var maps = SmoothGradMaps.Compute(network, inputs, labels, standardNoise, 0.1, GradientMagnitude.Absolute, SaliencyTarget.Prediction);
        using var predicted = network.call(inputs).argmax(1);
        using var expected = weight.index_select(0, predicted).abs().reshape(5, 2, 3, 3).sum(1);
        maps.allclose(expected, rtol: 1e-5, atol: 1e-6).ShouldBeTrue();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void The_rmse_table_of_two_members_matches_the_hand_computation()
    {
        // A = [[0, 1], [2, 3]] → normalised [0, 1/3, 2/3, 1]; B = [[3, 2], [1, 0]] → [1, 2/3, 1/3, 0].
        // Differences −1, −1/3, 1/3, 1; mean square (1 + 1/9 + 1/9 + 1)/4 = 5/9; RMSE = √(5/9) = 0.745356…
        // A second image where A is constant (normalised to zeros) and B = [[0, 0], [0, 4]] → [0, 0, 0, 1]: RMSE = √(1/4) = 0.5.
        using var a = tensor(new float[] { 0, 1, 2, 3, 5, 5, 5, 5 }).reshape(2, 2, 2);
        using var b = tensor(new float[] { 3, 2, 1, 0, 0, 0, 0, 4 }).reshape(2, 2, 2);
        using var na = SmoothGradMaps.Normalised(a);
        using var nb = SmoothGradMaps.Normalised(b);
        var members = new[] { "parent", "child 0" }.Select((n, i) => new AnalysisMember(n, i - 1, null!, null!)).ToList();
        var maps = new[] { na, nb };
        var table = MemberTables.Pairwise("rmse", "", members, (i, j) => SmoothGradMaps.MeanRmse(maps[i], maps[j]));
        double expected = (Math.Sqrt(5.0 / 9.0) + 0.5) / 2;
        table.Values[0][1].ShouldBe(expected, 1e-12);
        table.Values[1][0].ShouldBe(expected, 1e-12);
        table.Values[0][0].ShouldBe(0);
        table.RowLabels.ShouldBe(["parent", "child 0"]);
        MemberTables.Summaries(table, members).ToDictionary()["rmse_to_parent"].ShouldBe(expected, 1e-12);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Smoothgrad_meets_the_analysis_contract_and_writes_its_grid() =>
        AnalysisContract.Check(() => new SmoothGradAnalysis(new SmoothGradOptions { Images = 4, Samples = 3 }));

    [Trait("Category", "unit")]
    [Fact]
    public void The_grid_has_one_row_per_image_and_a_column_per_network_besides_the_input()
    {
        using var scratch = new AnalysisScratch();
        var context = scratch.Context;
        var output = new SmoothGradAnalysis(new SmoothGradOptions { Images = 3, Samples = 2 }).Run(context);
        output.Figures.ShouldHaveSingleItem().File.ShouldBe("maps.png");
        // 8 × 8 maps enlarged 8× (≥ 64 px): 3 rows of 64 + 2 px, 4 columns (input + 3 networks).
        var png = File.ReadAllBytes(Path.Combine(scratch.FigureDirectory, "maps.png"));
        System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)).ShouldBe(4 * 66 + 2);
        System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)).ShouldBe(3 * 66 + 2);
        output.Tables.ShouldHaveSingleItem().RowLabels.ShouldBe(["parent", "child 0", "child 1"]);
        output.Scalars.Keys.ShouldBe(["rmse_between_children", "rmse_to_parent"], ignoreOrder: true);
    }

    /// <summary>An analysis that draws from its own random source: the kit must refuse it.</summary>
    private sealed class UnseededAnalysis : IAnalysis
    {
        public AnalysisOutput Run(AnalysisContext context) =>
            new() { Scalars = new Dictionary<string, double> { ["draw"] = Random.Shared.NextDouble() } };
    }

    /// <summary>An analysis that changes a network's weights: the kit must refuse it.</summary>
    private sealed class MutatingAnalysis : IAnalysis
    {
        public AnalysisOutput Run(AnalysisContext context)
        {
            using (no_grad()) context.Members[0].Network.parameters().First().add_(1);
            return new AnalysisOutput();
        }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void The_kit_refuses_an_analysis_that_ignores_the_generator_or_changes_weights()
    {
        Should.Throw<ContractException>(() => AnalysisContract.Check(() => new UnseededAnalysis())).Message.ShouldContain("context.Generator");
        Should.Throw<ContractException>(() => AnalysisContract.Check(() => new MutatingAnalysis())).Message.ShouldContain("weights");
    }
}
