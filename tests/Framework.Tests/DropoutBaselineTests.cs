using Shouldly;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
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
        using var model = new Mlp([2], [32, 32], 3, dropout: 0.3);
        model.named_modules().Count(m => m.module is TorchSharp.Modules.Dropout).ShouldBe(2);
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
        using var plain = new Mlp([2], [32, 32], 3);
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
        mc["nll"]!.GetValue<double>().ShouldBeGreaterThan(0);
    }
}
