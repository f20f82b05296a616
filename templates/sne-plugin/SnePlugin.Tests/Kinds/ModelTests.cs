using SubnetworkEnsembles.Testing;
using Xunit;

namespace SnePlugin.Tests;

public class SnePluginTests
{
    [Fact]
    public void Meets_the_model_contract() => ModelContract.Check(() => new SnePlugin(new SnePluginOptions()), inputShape: [1, 8, 8], classes: 3);

    [Fact]
    public void Default_options_are_valid() => OptionsContract.DefaultsAreValid<SnePluginOptions>();

    [Fact]
    public void Rejects_a_hidden_width_of_0() => OptionsContract.Rejects(new SnePluginOptions { Hidden = 0 }, "hidden");
}
