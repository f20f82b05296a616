using SubnetworkEnsembles.Testing;
using Xunit;

namespace SnePlugin.Tests;

public class SnePluginTests
{
    [Fact]
    public void Meets_the_schedule_contract() => ScheduleContract.Check(() => new SnePlugin(new SnePluginOptions()));

    [Fact]
    public void Decays_from_lr_to_the_final_fraction()
    {
        var schedule = new SnePlugin(new SnePluginOptions { Lr = 0.1, FinalFraction = 0.5 });
        Assert.Equal(0.1, schedule.At(0, 10).LearningRate, 12);
        Assert.Equal(0.05, schedule.At(10, 10).LearningRate, 12);
    }

    [Fact]
    public void Default_options_are_valid() => OptionsContract.DefaultsAreValid<SnePluginOptions>();

    [Fact]
    public void Rejects_a_final_fraction_of_0() => OptionsContract.Rejects(new SnePluginOptions { FinalFraction = 0 }, "final_fraction");
}
