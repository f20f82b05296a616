using SubnetworkEnsembles.Testing;
using Xunit;

namespace SnePlugin.Tests;

public class SnePluginTests
{
    [Fact]
    public void Meets_the_optimizer_contract() => OptimizerContract.Check(() => new SnePlugin(new SnePluginOptions()));

    [Fact]
    public void Default_options_are_valid() => OptionsContract.DefaultsAreValid<SnePluginOptions>();

    [Fact]
    public void Rejects_a_momentum_of_1() => OptionsContract.Rejects(new SnePluginOptions { Momentum = 1 }, "momentum");
}
