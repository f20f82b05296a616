using Shouldly;
using SubnetworkEnsembles.Analyses;
using SubnetworkEnsembles.Analyses.Internal;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>t-SNE (van der Maaten &amp; Hinton 2008) against its definitions: perplexity, separation, the gradient.</summary>
public class TsneAnalysisTests
{
    [Trait("Category", "unit")]
    [Fact]
    public void The_perplexity_calibration_hits_the_target_entropy()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        var x = randn(150, 5, dtype: ScalarType.Float64, generator: generator) * (rand(150, 1, dtype: ScalarType.Float64, generator: generator) * 3 + 0.1);
        var p = Tsne.Conditional(Tsne.SquaredDistances(x), 20, out var entropies, chunk: 64);
        // The entropy recomputed from P itself: H(P_i) = −Σ_j p_{j|i} ln p_{j|i} (0 ln 0 = 0).
        var h = -(p * p.clamp_min(1e-300).log()).sum(1);
        (h - Math.Log(20)).abs().max().item<double>().ShouldBeLessThan(1e-5);
        (entropies - Math.Log(20)).abs().max().item<double>().ShouldBeLessThan(1e-5);
        (p.sum(1) - 1).abs().max().item<double>().ShouldBeLessThan(1e-12);
        p.diagonal().abs().max().item<double>().ShouldBe(0);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Three_well_separated_blobs_stay_separated_in_the_map()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(11);
        var centres = randn(3, 10, dtype: ScalarType.Float64, generator: generator) * 10;
        var labels = arange(3).repeat_interleave(30);
        var x = centres.index_select(0, labels) + randn(90, 10, dtype: ScalarType.Float64, generator: generator);
        Tsne.KnnPurity(x, labels, 5).ShouldBe(1.0);
        var p = Tsne.Joint(Tsne.Conditional(Tsne.SquaredDistances(x), 10, out _));
        var (y, kl) = Tsne.Embed(p, new TsneSchedule(Iterations: 300), generator);
        y.shape.ShouldBe([90, 2]);
        Tsne.KnnPurity(y, labels, 5).ShouldBe(1.0);
        kl.ShouldBeLessThan(1.0);
        // Control: a random map is not pure.
        Tsne.KnnPurity(randn(90, 2, dtype: ScalarType.Float64, generator: generator), labels, 5).ShouldBeLessThan(0.8);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void The_gradient_is_the_finite_difference_of_the_kl()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        var p = Tsne.Joint(Tsne.Conditional(Tsne.SquaredDistances(randn(7, 4, dtype: ScalarType.Float64, generator: generator)), 2.5, out _));
        var y = randn(7, 2, dtype: ScalarType.Float64, generator: generator);
        var (_, gradient) = Tsne.KlAndGradient(p, y);
        var g = gradient.data<double>().ToArray();
        const double h = 1e-6;
        for (int i = 0; i < 14; i++)
        {
            var values = y.data<double>().ToArray();
            values[i] += h;
            var plus = tensor(values).reshape(7, 2);
            values[i] -= 2 * h;
            var minus = tensor(values).reshape(7, 2);
            double numeric = (Tsne.KlAndGradient(p, plus).Kl - Tsne.KlAndGradient(p, minus).Kl) / (2 * h);
            g[i].ShouldBe(numeric, 1e-6 + 1e-5 * Math.Abs(numeric));
        }
        g.Select(Math.Abs).Max().ShouldBeGreaterThan(1e-3);
    }


    [Trait("Category", "unit")]
    [Fact]
    public void The_table_has_the_parent_at_distance_zero_and_both_figures()
    {
        using var scratch = new AnalysisScratch();
        var context = scratch.Context;
        var output = new TsneAnalysis(new TsneOptions { Points = 24, Iterations = 100, Perplexity = 8 }).Run(context);
        output.Figures.Select(f => f.File).ShouldBe(["by-class.png", "by-misprediction.png"]);
        var table = output.Tables.ShouldHaveSingleItem();
        table.RowLabels.ShouldBe(["parent", "child 0", "child 1"]);
        table.Values[0][0].ShouldBe(0);
        table.Values[1][0].ShouldBeGreaterThan(0);
        using var predicted = context.Members[1].TestProbabilities.argmax(1);
        double error = (predicted != context.TestLabels).to_type(ScalarType.Float64).mean().item<double>();
        table.Values[1][2].ShouldBe(error, 1e-12);
        output.Scalars["kl"].ShouldBeGreaterThan(0);
        output.Scalars["distance_to_parent"].ShouldBe((table.Values[1][0] + table.Values[2][0]) / 2, 1e-12);
    }
}
