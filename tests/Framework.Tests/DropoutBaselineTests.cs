using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Pipeline;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>The dropout model and Monte-Carlo dropout baselines.</summary>
public class DropoutBaselineTests
{
    [Trait("Category", "unit")]
    [Fact]
    public void Dropout_is_off_in_evaluation_and_mc_dropout_averages_reproducible_stochastic_passes()
    {
        manual_seed(3);
        using var model = TestModels.Mlp([2], [32, 32], 3, dropout: 0.3);
        model.named_modules().Count(m => m.module is GeneratorDropout).ShouldBe(2);
        model.eval();
        using var x = randn(50, 2);
        using var a = Evaluator.Probabilities(model, x);
        using var b = Evaluator.Probabilities(model, x);
        a.IsSameAs(b).ShouldBeTrue("evaluation must not drop units");

        using var mc1 = Evaluator.McDropoutProbabilities(model, x, samples: 8, seed: 11);
        using var mc2 = Evaluator.McDropoutProbabilities(model, x, samples: 8, seed: 11);
        using var mc3 = Evaluator.McDropoutProbabilities(model, x, samples: 8, seed: 12);
        mc1.IsSameAs(mc2).ShouldBeTrue("the same seed gives the same passes");
        mc1.IsSameAs(mc3).ShouldBeFalse();
        mc1.IsSameAs(a).ShouldBeFalse("dropout was active in the passes");
        using var sums = mc1.sum(1);
        sums.allclose(ones(50), atol: 1e-5).ShouldBeTrue();
        model.training.ShouldBeFalse("the model is left in the mode it was in");

        // One pass of a model without dropout is just its prediction.
        manual_seed(3);
        using var plain = TestModels.Mlp([2], [32, 32], 3);
        using var p = Evaluator.Probabilities(plain, x);
        using var mc = Evaluator.McDropoutProbabilities(plain, x, samples: 4, seed: 1);
        mc.allclose(p, atol: 1e-6).ShouldBeTrue();
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_run_reports_the_parent_with_mc_dropout_beside_its_deterministic_metrics()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", run, "--set", "model.dropout=0.1", "--set", "mc_dropout=10", "--set", "children.count=2");
        result.ExitCode.ShouldBe(0, result.Output);
        result.Stdout.ShouldContain("Parent with MC dropout (10 passes) test: accuracy ");
        var mc = Sne.Results(run)["parent"]!["mc_dropout"]!;
        mc["samples"]!.GetValue<int>().ShouldBe(10);
        mc["accuracy"]!.GetValue<double>().ShouldBeGreaterThan(0.75);
        McDropoutRecomputation.AssertReportedIsTheMeanOfSeededPasses(run, passes: 10);
    }
}

/// <summary>
/// Recomputes a run's Monte-Carlo dropout evaluation of the parent independently of the product's evaluator, from
/// parent.ckpt and the test rows: the mean softmax of T forward passes with dropout active, torch's global generator
/// seeded with Seeds.Derive(seed, "mc-dropout") before the first pass — and checks results.json's parent.mc_dropout.
/// </summary>
internal static class McDropoutRecomputation
{
    /// <summary>Accuracy and NLL of the mean of <paramref name="passes"/> dropout passes over <paramref name="inputs"/> after seeding with <paramref name="seed"/>.</summary>
    private static (double Accuracy, double Nll) MeanOfPasses(MaskedNetwork model, Tensor inputs, Tensor labels, int passes, long seed)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.Generator!.manual_seed(seed);
        model.train();
        var sum = zeros(inputs.shape[0], model.Classes);
        for (int t = 0; t < passes; t++) sum.add_(nn.functional.softmax(model.call(inputs), 1));
        var mean = sum.div(passes);
        double accuracy = mean.argmax(1).eq(labels).to_type(ScalarType.Float64).mean().ToDouble();
        double nll = -mean.to_type(ScalarType.Float64).gather(1, labels.unsqueeze(1)).clamp_min(1e-12).log().mean().ToDouble();
        return (accuracy, nll);
    }

    /// <summary>
    /// Asserts that parent.mc_dropout of <paramref name="run"/> is the mean of <paramref name="passes"/> seeded passes,
    /// and that neither one pass nor another seed would give the same numbers (so the check can tell them apart).
    /// </summary>
    public static void AssertReportedIsTheMeanOfSeededPasses(string run, int passes)
    {
        var config = TestData.RunConfig(run);
        using var data = TestData.Load(config.Data);
        // The product draws the passes batch by batch (1024 rows); one batch keeps the draws in the same order here.
        data.Test.Count.ShouldBeLessThanOrEqualTo(1024);
        using var model = TestData.Plugins().Build(config.Model, data.InputShape, data.Classes, Seeds.Generator(config.Seed, "parent-init"));
        model.LoadCheckpoint(Path.Combine(run, "parent.ckpt"));
        long seed = Seeds.Derive(config.Seed, "mc-dropout");

        var (accuracy, nll) = MeanOfPasses(model, data.Test.Inputs, data.Test.Labels, passes, seed);
        var reported = Sne.Results(run)["parent"]!["mc_dropout"]!;
        reported["samples"]!.GetValue<int>().ShouldBe(passes);
        reported["accuracy"]!.GetValue<double>().ShouldBe(accuracy, 1e-12, "accuracy of the mean of the seeded passes");
        reported["nll"]!.GetValue<double>().ShouldBe(nll, 1e-6, "NLL of the mean of the seeded passes");

        Math.Abs(MeanOfPasses(model, data.Test.Inputs, data.Test.Labels, 1, seed).Nll - nll).ShouldBeGreaterThan(1e-6, "one pass is not the mean of T");
        Math.Abs(MeanOfPasses(model, data.Test.Inputs, data.Test.Labels, passes, seed + 1).Nll - nll).ShouldBeGreaterThan(1e-6, "another seed draws other passes");
    }
}
