using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Testing;
using Xunit;
using static TorchSharp.torch;

namespace SnePlugin.Tests;

public class SnePluginTests
{
    [Fact]
    public void Meets_the_metric_contract() => MetricContract.Check(() => new SnePlugin(new SnePluginOptions()));

    [Fact]
    public void Counts_a_label_among_the_k_most_probable_classes()
    {
        using var ensemble = tensor(new float[,] { { 0.5f, 0.3f, 0.2f }, { 0.6f, 0.3f, 0.1f } });
        using var members = ensemble.unsqueeze(0);
        using var labels = tensor(new long[] { 1, 2 });
        var values = new SnePlugin(new SnePluginOptions { K = 2 }).Compute(new MetricInput(members, ensemble, labels));
        Assert.Equal(0.5, values["top2_accuracy"], 12);
    }

    [Fact]
    public void Default_options_are_valid() => OptionsContract.DefaultsAreValid<SnePluginOptions>();

    [Fact]
    public void Rejects_k_of_0() => OptionsContract.Rejects(new SnePluginOptions { K = 0 }, "k");
}
