using SubnetworkEnsembles.Testing;
using Xunit;

namespace SnePlugin.Tests;

public class SnePluginTests
{
    [Fact]
    public void Meets_the_combiner_contract() => CombinerContract.Check(() => new SnePlugin(new SnePluginOptions()));

    [Fact]
    public void Default_options_are_valid() => OptionsContract.DefaultsAreValid<SnePluginOptions>();

    [Fact]
    public void Rejects_a_temperature_of_0() => OptionsContract.Rejects(new SnePluginOptions { Temperature = 0 }, "temperature");
}
