using Shouldly;
using SubnetworkEnsembles.Samplers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

public class SamplerTests
{
    [Trait("Category", "unit")]
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(6)]
    public void Partition_masks_are_disjoint_cover_every_weight_and_hit_the_target_sparsity(int k)
    {
        using var model = TestModels.SmallMlp();
        var sampler = new PartitionSampler(new PartitionSamplerOptions { K = k });
        using var g = new Generator(7);
        var set = sampler.SampleSet(model.MaskableWeights, g);

        set.Count.ShouldBe(k);
        foreach (var w in model.MaskableWeights)
        {
            using var sum = zeros_like(w.Weight);
            foreach (var child in set)
            {
                var m = child.Masks[w.Name];
                m.shape.ShouldBe(w.Weight.shape);
                // Binary.
                m.eq(0).logical_or(m.eq(1)).all().ToBoolean().ShouldBeTrue();
                sum.add_(m);
                // Each child keeps ⌊n/k⌋ or ⌈n/k⌉ of this layer.
                long n = w.Weight.numel();
                long kept = (long)m.sum().ToDouble();
                kept.ShouldBeInRange(n / k, (n + k - 1) / k);
            }
            // Disjoint and covering: every weight is in exactly one child.
            sum.eq(1).all().ToBoolean().ShouldBeTrue($"layer {w.Name}");
        }
        foreach (var child in set) child.Sparsity.ShouldBe(1 - 1.0 / k, 0.002);
        foreach (var child in set) child.Dispose();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Same_generator_seed_gives_the_same_masks_and_another_seed_different_ones()
    {
        using var model = TestModels.SmallMlp();
        var sampler = new PartitionSampler(new PartitionSamplerOptions { K = 2 });
        using var g1 = new Generator(11);
        using var g2 = new Generator(11);
        using var g3 = new Generator(12);
        var a = sampler.SampleSet(model.MaskableWeights, g1);
        var b = sampler.SampleSet(model.MaskableWeights, g2);
        var c = sampler.SampleSet(model.MaskableWeights, g3);
        foreach (var w in model.MaskableWeights)
        {
            a[0].Masks[w.Name].IsSameAs(b[0].Masks[w.Name]).ShouldBeTrue();
            a[0].Masks[w.Name].IsSameAs(c[0].Masks[w.Name]).ShouldBeFalse();
        }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Bernoulli_sampler_keeps_about_one_minus_sparsity_and_exact_count_keeps_exactly()
    {
        using var model = TestModels.Mlp([1, 28, 28], [256], 10);
        using var g = new Generator(3);
        var drawn = new BernoulliSampler(new BernoulliSamplerOptions { Sparsity = 0.7 }).SampleSet(model.MaskableWeights, g).Single();
        drawn.Sparsity.ShouldBe(0.7, 0.01);   // 203 k Bernoulli draws: standard error ≈ 0.001
        var exact = new BernoulliSampler(new BernoulliSamplerOptions { Sparsity = 0.7, ExactCount = true }).SampleSet(model.MaskableWeights, g).Single();
        foreach (var w in model.MaskableWeights)
            exact.Masks[w.Name].sum().ToDouble().ShouldBe(Math.Round(0.3 * w.Weight.numel()));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Sampler_options_reject_out_of_range_values()
    {
        new PartitionSamplerOptions { K = 1 }.Validate().ShouldHaveSingleItem().ShouldStartWith("k:");
        new BernoulliSamplerOptions { Sparsity = 1.0 }.Validate().ShouldHaveSingleItem().ShouldStartWith("sparsity:");
        new BernoulliSamplerOptions { Sparsity = -0.1 }.Validate().ShouldHaveSingleItem();
        new BernoulliSamplerOptions { Sparsity = 0.5 }.Validate().ShouldBeEmpty();
    }
}
