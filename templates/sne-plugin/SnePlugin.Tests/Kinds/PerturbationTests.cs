using SubnetworkEnsembles.Testing;
using Xunit;

namespace SnePlugin.Tests;

public class SnePluginTests
{
    [Fact]
    public void Meets_the_perturbation_contract() => PerturbationContract.Check(() => new SnePlugin(new SnePluginOptions()));

    [Fact]
    public void Default_options_are_valid() => OptionsContract.DefaultsAreValid<SnePluginOptions>();

    [Fact]
    public void Rejects_a_scale_that_is_not_positive() => OptionsContract.Rejects(new SnePluginOptions { Scale = 0 }, "scale");
}
