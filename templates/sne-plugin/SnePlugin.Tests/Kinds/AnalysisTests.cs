using SubnetworkEnsembles.Testing;
using Xunit;

namespace SnePlugin.Tests;

public class SnePluginTests
{
    [Fact]
    public void Meets_the_analysis_contract() => AnalysisContract.Check(() => new SnePlugin(new SnePluginOptions()));

    [Fact]
    public void Reports_one_entropy_per_network_between_0_and_log_C()
    {
        string figures = Directory.CreateTempSubdirectory().FullName;
        var (context, fixture) = AnalysisContract.Context(figures);
        using var _ = fixture;
        var output = new SnePlugin(new SnePluginOptions()).Run(context);
        var table = Assert.Single(output.Tables);
        Assert.Equal(context.Members.Count, table.Values.Length);
        Assert.All(table.Values, row => Assert.InRange(row[0], 0, Math.Log(context.Classes)));
    }

    [Fact]
    public void Default_options_are_valid() => OptionsContract.DefaultsAreValid<SnePluginOptions>();

    [Fact]
    public void Rejects_a_floor_of_0() => OptionsContract.Rejects(new SnePluginOptions { Floor = 0 }, "floor");
}
