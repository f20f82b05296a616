using SubnetworkEnsembles.Testing;
using Xunit;
using static TorchSharp.torch;

namespace SnePlugin.Tests;

public class SnePluginTests
{
    [Fact]
    public void Meets_the_sampler_contract() => SamplerContract.Check(() => new SnePlugin(new SnePluginOptions()));

    [Fact]
    public void Keeps_about_one_minus_sparsity_of_the_weights()
    {
        using var model = MaskableModel.Mlp(features: 64, hidden: 64);
        using var generator = new Generator(1);
        var set = new SnePlugin(new SnePluginOptions { Sparsity = 0.25 }).SampleSet(model.MaskableWeights, generator);
        using var child = Assert.Single(set);
        Assert.InRange(child.Sparsity, 0.2, 0.3);
    }

    [Fact]
    public void Default_options_are_valid() => OptionsContract.DefaultsAreValid<SnePluginOptions>();

    [Fact]
    public void Rejects_a_sparsity_outside_0_to_1() => OptionsContract.Rejects(new SnePluginOptions { Sparsity = 1.5 }, "sparsity");
}
