using Shouldly;
using SubnetworkEnsembles.Experiments.Diagnostics;
using SubnetworkEnsembles.Host.Diagnostics;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>The SNE_FAULT setting read into fault points: which settings arm a fault, and that it fires at the N-th pass only.</summary>
public class FaultPointsTests
{
    [Trait("Category", "unit")]
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("explode:child-start")]
    [InlineData("kill")]
    public void A_missing_or_unknown_setting_arms_nothing(string? setting)
    {
        var faults = EnvironmentFaultPoints.FromSetting(setting);
        faults.ShouldBeSameAs(NoFaultPoints.Instance);
        faults.Enabled.ShouldBeFalse();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Enospc_fires_at_the_nth_pass_of_its_point_and_nowhere_else()
    {
        var faults = EnvironmentFaultPoints.FromSetting("enospc:write:parent.json#3");
        faults.Enabled.ShouldBeTrue();
        faults.At("write:parent.json");
        faults.At("write:results.json");                 // another point does not count
        faults.At("write:parent.json");
        var e = Should.Throw<IOException>(() => faults.At("write:parent.json"));
        e.Message.ShouldContain("No space left on device (injected at write:parent.json)");
        e.HResult.ShouldBe(28);
        faults.At("write:parent.json");                  // fires once only
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Two_instances_count_their_passes_separately()
    {
        var first = EnvironmentFaultPoints.FromSetting("enospc:child-start#2");
        var second = EnvironmentFaultPoints.FromSetting("enospc:child-start#2");
        first.At("child-start");
        second.At("child-start");
        Should.Throw<IOException>(() => first.At("child-start"));
        Should.Throw<IOException>(() => second.At("child-start"));
    }
}
