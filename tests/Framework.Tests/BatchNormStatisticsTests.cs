using Shouldly;
using Xunit;
using static TorchSharp.torch;
using Dropout = SubnetworkEnsembles.Abstractions.GeneratorDropout;

namespace SubnetworkEnsembles.Tests;

/// <summary>BatchNormStatistics.Reestimate: cumulative averages of batch statistics, with every mode and momentum restored.</summary>
[Trait("Category", "unit")]
public sealed class BatchNormStatisticsTests
{
    private static List<Tensor> Batches(int count, params long[] shape)
    {
        var g = new Generator(11);
        return Enumerable.Range(0, count).Select(i => randn(shape, generator: g).mul(1 + i).add(i - 2)).ToList();
    }

    [Fact]
    public void Running_mean_is_the_mean_over_all_rows_and_running_var_the_average_unbiased_batch_variance()
    {
        var bn = nn.BatchNorm1d(3);
        var model = nn.Sequential(("bn", bn));
        using (no_grad())
        {
            bn.running_mean!.fill_(7);
            bn.running_var!.fill_(9);
        }
        var batches = Batches(4, 16, 3);
        BatchNormStatistics.Reestimate(model, batches).ShouldBe(4);

        using var all = cat(batches, 0);
        using var mean = all.mean([0]);
        bn.running_mean!.allclose(mean, rtol: 0, atol: 1e-5).ShouldBeTrue($"{bn.running_mean!.ToString(TorchSharp.TensorStringStyle.Julia)} vs {mean.ToString(TorchSharp.TensorStringStyle.Julia)}");
        using var variances = stack(batches.Select(b => b.var(0, unbiased: true)));
        using var averageVariance = variances.mean([0]);
        bn.running_var!.allclose(averageVariance, rtol: 0, atol: 1e-5).ShouldBeTrue($"{bn.running_var!.ToString(TorchSharp.TensorStringStyle.Julia)} vs {averageVariance.ToString(TorchSharp.TensorStringStyle.Julia)}");
    }

    [Fact]
    public void Convolutional_statistics_are_per_channel_over_rows_and_positions()
    {
        var conv = nn.Conv2d(2, 4, 3, padding: 1);
        var bn = nn.BatchNorm2d(4);
        var model = nn.Sequential(("conv", conv), ("bn", bn));
        var batches = Batches(3, 5, 2, 6, 6);
        BatchNormStatistics.Reestimate(model, batches);

        using var _ = no_grad();
        using var features = cat(batches.Select(b => conv.call(b)).ToList(), 0);
        using var mean = features.mean([0, 2, 3]);
        bn.running_mean!.allclose(mean, rtol: 0, atol: 1e-5).ShouldBeTrue();
    }

    [Fact]
    public void Dropout_stays_in_evaluation_so_two_reestimations_agree_and_modes_and_momentum_are_restored()
    {
        var generator = new Generator(3);
        var bn = nn.BatchNorm1d(8, momentum: 0.25);
        var model = nn.Sequential(("fc", nn.Linear(4, 8)), ("drop", new Dropout(0.5, generator)), ("bn", bn));
        model.train();
        var batches = Batches(3, 10, 4);

        BatchNormStatistics.Reestimate(model, batches);
        using var firstMean = bn.running_mean!.clone();
        using var firstVar = bn.running_var!.clone();
        BatchNormStatistics.Reestimate(model, batches);
        bn.running_mean!.IsSameAs(firstMean).ShouldBeTrue();
        bn.running_var!.IsSameAs(firstVar).ShouldBeTrue();

        model.modules().Prepend(model).ShouldAllBe(m => m.training);
        bn.momentum.ShouldBe(0.25);
        model.eval();
        BatchNormStatistics.Reestimate(model, batches);
        model.modules().Prepend(model).ShouldAllBe(m => !m.training);
    }

    [Fact]
    public void A_model_without_batchnorm_is_left_untouched()
    {
        var model = nn.Sequential(("fc", nn.Linear(4, 2)));
        int consumed = 0;
        IEnumerable<Tensor> Counting() { consumed++; yield return ones(1, 4); }
        BatchNormStatistics.Reestimate(model, Counting()).ShouldBe(0);
        consumed.ShouldBe(0);
    }
}
