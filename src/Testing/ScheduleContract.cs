using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Testing.Internal;

namespace SubnetworkEnsembles.Testing;

/// <summary>
/// The contract of <see cref="ISchedule"/> in one call: a pure function of (step, totalSteps). Two fresh instances, one
/// asked for steps 0 … T − 1 forwards and one backwards, and a repeated call, give the same values; every learning rate
/// is finite and ≥ 0; a momentum, when given, is finite and in [0, 1].
/// </summary>
public static class ScheduleContract
{
    /// <summary>Checks the schedule made by <paramref name="create"/> over <paramref name="totalSteps"/> steps; throws <see cref="ContractException"/>.</summary>
    public static void Check(Func<ISchedule> create, long totalSteps = 100)
    {
        var forwards = create();
        var backwards = create();
        string plugin = PluginNames.Of(forwards, "schedule");
        if (ReferenceEquals(forwards, backwards)) throw new ContractException(plugin, "the factory returned the same instance twice; give it a fresh one each call");
        var steps = Enumerable.Range(0, (int)Math.Min(totalSteps, 1000)).Select(i => (long)i).Append(totalSteps - 1).Distinct().ToList();
        var early = steps.Select(t => forwards.At(t, totalSteps)).ToList();
        var late = Enumerable.Reverse(steps).Select(t => backwards.At(t, totalSteps)).Reverse().ToList();
        for (int i = 0; i < steps.Count; i++)
        {
            long t = steps[i];
            var value = early[i];
            if (value != late[i])
                throw new ContractException(plugin, $"At({t}, {totalSteps}) is {Format(value)} asked in order but {Format(late[i])} asked backwards: the value must depend only on the step");
            if (forwards.At(t, totalSteps) != value)
                throw new ContractException(plugin, $"At({t}, {totalSteps}) changed between two calls ({Format(value)}, then {Format(forwards.At(t, totalSteps))}): the value must depend only on the step");
            if (!double.IsFinite(value.LearningRate) || value.LearningRate < 0)
                throw new ContractException(plugin, $"At({t}, {totalSteps}) gives learning rate {value.LearningRate}; expected a finite value ≥ 0");
            if (value.Momentum is { } m && (!double.IsFinite(m) || m is < 0 or > 1))
                throw new ContractException(plugin, $"At({t}, {totalSteps}) gives momentum {m}; expected a value in [0, 1] (or null)");
        }
    }

    private static string Format(ScheduleValue value) =>
        value.Momentum is { } m ? $"lr {value.LearningRate:R}, momentum {m:R}" : $"lr {value.LearningRate:R}";
}
