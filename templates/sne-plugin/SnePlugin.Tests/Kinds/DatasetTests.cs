using SubnetworkEnsembles.Testing;
using Xunit;

namespace SnePlugin.Tests;

public class SnePluginTests
{
    [Fact]
    public void Meets_the_dataset_contract() => DatasetContract.Check(() => new SnePlugin(new SnePluginOptions()));

    [Fact]
    public void Default_options_are_valid() => OptionsContract.DefaultsAreValid<SnePluginOptions>();

    [Fact]
    public void Rejects_a_single_class() => OptionsContract.Rejects(new SnePluginOptions { Classes = 1 }, "classes");
}
