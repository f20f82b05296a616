using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Analyses;
using SubnetworkEnsembles.Analyses.Internal;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>Loss surfaces (Li et al. 2018): filter normalisation by hand, the grid's centre, an analytic quadratic.</summary>
public class LossLandscapeAnalysisTests
{
    [Trait("Category", "unit")]
    [Fact]
    public void Filter_normalisation_of_a_two_filter_conv_weight_matches_the_hand_computation()
    {
        using var scope = NewDisposeScope();
        // Filter 0: θ = [1, 2, 2, 4] (‖θ‖ = 5), d = [6, 0, 0, 8] (‖d‖ = 10) → d · 5/10 = [3, 0, 0, 4].
        // Filter 1: θ = [0, 0, 3, 4] (‖θ‖ = 5), d = [1, 1, 1, 1] (‖d‖ = 2) → d · 5/2 = [2.5, 2.5, 2.5, 2.5].
        var weight = tensor(new float[] { 1, 2, 2, 4, 0, 0, 3, 4 }).reshape(2, 1, 2, 2);
        var direction = tensor(new float[] { 6, 0, 0, 8, 1, 1, 1, 1 }).reshape(2, 1, 2, 2);
        var normalised = LossSurface.FilterNormalised(direction, weight);
        normalised.shape.ShouldBe([2, 1, 2, 2]);
        normalised.flatten().data<float>().ToArray().ShouldBe([3f, 0, 0, 4, 2.5f, 2.5f, 2.5f, 2.5f], 1e-6f);
        // A bias is zeroed.
        LossSurface.FilterNormalised(tensor(new float[] { 1, -2 }), tensor(new float[] { 3, 4 })).abs().sum().item<float>().ShouldBe(0);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void A_masked_weight_keeps_its_pruned_entries_at_zero_and_counts_only_the_kept_norm()
    {
        using var scope = NewDisposeScope();
        var network = nn.Sequential(("lin", nn.Linear(2, 1, hasBias: false)));
        using (no_grad()) network.parameters().First().copy_(tensor(new float[] { 3, 100 }).reshape(1, 2));
        ((nn.Module)network.named_children().First().module).register_buffer("weight_mask", tensor(new float[] { 1, 0 }).reshape(1, 2));
        // Masked θ = [3, 0] (‖·‖ = 3); masked d = [2, 0] → [3, 0].
        var d = LossSurface.Normalised(network, [tensor(new float[] { 2, 5 }).reshape(1, 2)]);
        d.ShouldHaveSingleItem().flatten().data<float>().ToArray().ShouldBe([3f, 0f], 1e-6f);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void On_a_linear_model_with_squared_error_the_surface_is_the_analytic_quadratic()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(4);
        var network = nn.Sequential(nn.Linear(3, 1, hasBias: false, dtype: ScalarType.Float64));
        using (no_grad()) network.parameters().First().copy_(randn(1, 3, dtype: ScalarType.Float64, generator: generator));
        var x = randn(10, 3, dtype: ScalarType.Float64, generator: generator);
        var target = randn(10, dtype: ScalarType.Float64, generator: generator);
        Tensor Loss(Tensor output, Tensor t) => (output.squeeze(1) - t).square().mean();
        var delta = LossSurface.Normalised(network, LossSurface.RawDirection(network, generator));
        var eta = LossSurface.Normalised(network, LossSurface.RawDirection(network, generator));
        var coordinates = LossSurface.Coordinates(5, 2.0);
        coordinates.ShouldBe([-2.0, -1.0, 0.0, 1.0, 2.0]);
        var grid = LossSurface.Grid(network, delta, eta, x, target, Loss, coordinates);
        // L(a, b) = (1/n) Σ_k (x_k · (θ + a δ + b η) − t_k)², computed element by element.
        var xs = x.data<double>().ToArray();
        var ts = target.data<double>().ToArray();
        var theta = network.parameters().First().data<double>().ToArray();
        var dd = delta[0].data<double>().ToArray();
        var ee = eta[0].data<double>().ToArray();
        Math.Sqrt(dd.Sum(v => v * v)).ShouldBe(Math.Sqrt(theta.Sum(v => v * v)), 1e-12);
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 5; c++)
            {
                double expected = Enumerable.Range(0, 10).Average(k =>
                {
                    double f = Enumerable.Range(0, 3).Sum(j => xs[3 * k + j] * (theta[j] + coordinates[c] * dd[j] + coordinates[r] * ee[j]));
                    return (f - ts[k]) * (f - ts[k]);
                });
                grid[r][c].ShouldBe(expected, 1e-10);
            }
        network.parameters().First().data<double>().ToArray().ShouldBe(theta);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void The_grid_centre_is_the_loss_of_the_unperturbed_network()
    {
        using var scratch = new AnalysisScratch();
        var context = scratch.Context;
        var output = new LossLandscapeAnalysis(new LossLandscapeOptions { Rows = 24, Resolution = 3, Span = 0.5 }).Run(context);
        output.Tables.Select(t => t.Name).ShouldBe(["parent", "child_0"]);
        output.Figures.ShouldHaveSingleItem().File.ShouldBe("surfaces.png");
        using var batch = context.ReadTest([.. Enumerable.Range(0, 24).Select(i => (long)i)]);
        for (int m = 0; m < 2; m++)
        {
            using var logits = context.Members[m].Network.call(batch.Inputs);
            using var loss = nn.functional.cross_entropy(logits, batch.Labels);
            output.Tables[m].Values[1][1].ShouldBe(loss.item<float>(), 1e-5);
            output.Scalars[output.Tables[m].Name + "_centre"].ShouldBe(output.Tables[m].Values[1][1]);
            output.Tables[m].Values[0][0].ShouldNotBe(output.Tables[m].Values[1][1]);
        }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Logits_in_chunks_equal_one_batch_and_chunks_follow_the_evaluation_rule()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        var conv = nn.Sequential(("conv", nn.Conv2d(1, 4, 3)), ("flat", nn.Flatten()), ("fc", nn.Linear(4 * 26 * 26, 10)));
        conv.eval();
        EvaluationBatches.RowsFor(conv, [1, 28, 28]).ShouldBe(64);                    // 64 · 784 ≤ 2¹⁶
        EvaluationBatches.RowsFor(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), [1, 28, 28]).ShouldBe(1024);
        var inputs = randn(150, 1, 28, 28, generator: generator);                 // 64 + 64 + 22 rows
        using var noGrad = no_grad();
        var chunked = LossSurface.Logits(conv, inputs);
        chunked.shape.ShouldBe([150, 10]);
        chunked.allclose(conv.call(inputs), rtol: 1e-5, atol: 1e-6).ShouldBeTrue();
    }
}
