using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Metrics;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

public class MetricTests
{
    // Four rows, two classes. Confidences 0.95 (right), 0.62 (wrong), 0.71 (right), 1.0 (right).
    private static Tensor Probs() => tensor(new float[] { 0.95f, 0.05f, 0.62f, 0.38f, 0.29f, 0.71f, 1.0f, 0.0f }, [4, 2]);
    private static Tensor Labels() => tensor(new long[] { 0, 1, 1, 0 });

    private static IReadOnlyDictionary<string, double> Compute(IMetric metric)
    {
        using var p = Probs();
        using var members = p.unsqueeze(0);
        using var y = Labels();
        return metric.Compute(new MetricInput(members, p, y));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Accuracy_counts_argmax_hits() => Compute(new AccuracyMetric())["accuracy"].ShouldBe(0.75, 1e-12);

    [Trait("Category", "unit")]
    [Fact]
    public void Nll_equals_the_hand_computed_value()
    {
        // −mean log p(y|x) = −(ln 0.95 + ln 0.38 + ln 0.71 + ln 1.0) / 4
        double expected = -(Math.Log(0.95) + Math.Log(0.38) + Math.Log(0.71) + Math.Log(1.0)) / 4;
        Compute(new NllMetric())["nll"].ShouldBe(expected, 1e-6);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Ece_with_15_bins_equals_the_hand_computed_value_and_confidence_one_is_in_the_top_bin()
    {
        // 15 bins of width 1/15. 0.95 and 1.0 share bin 14 (acc 1, conf 0.975), 0.62 is alone in bin 9 (acc 0),
        // 0.71 alone in bin 10 (acc 1). ECE = (2/4)·0.025 + (1/4)·0.62 + (1/4)·0.29 = 0.24; MCE = 0.62.
        var values = Compute(new EceMetric(new EceMetricOptions { Bins = 15 }));
        values["ece"].ShouldBe(0.24, 1e-6);
        values["mce"].ShouldBe(0.62, 1e-6);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Ece_puts_confidence_one_in_the_top_bin_not_past_it()
    {
        // One bin: ECE = |mean acc − mean conf| = |0.75 − (0.95 + 0.62 + 0.71 + 1.0)/4|.
        Compute(new EceMetric(new EceMetricOptions { Bins = 1 }))["ece"].ShouldBe(Math.Abs(0.75 - 3.28 / 4), 1e-6);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Ensemble_nll_uses_the_mean_of_member_probabilities_not_the_mean_of_member_nlls()
    {
        var evaluation = new MemberEvaluation([("nll", new NllMetric()), ("accuracy", new AccuracyMetric())], new SubnetworkEnsembles.Combiners.MeanCombiner(new()));
        using var a = tensor(new float[] { 0.9f, 0.1f, 0.2f, 0.8f }, [2, 2]);
        using var b = tensor(new float[] { 0.5f, 0.5f, 0.6f, 0.4f }, [2, 2]);
        using var y = tensor(new long[] { 0, 1 });
        using var members = stack([a, b], 0);
        var values = evaluation.Ensemble(members, y).Values;
        // p̄ = [[0.7, 0.3], [0.4, 0.6]]; NLL = −(ln 0.7 + ln 0.6)/2.
        values["nll"].ShouldBe(-(Math.Log(0.7) + Math.Log(0.6)) / 2, 1e-6);
        values["accuracy"].ShouldBe(1.0);
    }
}
