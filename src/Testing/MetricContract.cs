using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Testing.Internal;

namespace SubnetworkEnsembles.Testing;

/// <summary>
/// The contract of <see cref="IMetric"/> in one call, on seeded predictions (<see cref="TestBatches.Predictions"/>) of
/// 3 members and of a single model (M = 1): at least one value for M = 3 (a diversity metric may return none for M = 1), every key non-empty and every value finite; a used
/// instance and a fresh one return the same values; the inputs are not changed; an <see cref="IPairwiseMetric"/>'s
/// matrices are M × M (none for M = 1); no tensor left undisposed over repeated calls.
/// </summary>
public static class MetricContract
{
    /// <summary>Checks the metric made by <paramref name="create"/>; throws <see cref="ContractException"/> naming it and the first problem.</summary>
    public static void Check(Func<IMetric> create, int leakCalls = 4)
    {
        var used = create();
        string plugin = PluginNames.Of(used, "metric");
        foreach (int members in (int[])[3, 1])
        {
            using var batch = TestBatches.Predictions(members: members, seed: 2);
            var before = Tensors.Snapshot([batch.MemberProbabilities, batch.EnsembleProbabilities, batch.Labels]);
            try
            {
                var first = used.Compute(batch.Input);
                var second = used.Compute(batch.Input);
                var fresh = create().Compute(batch.Input);
                if (first.Count == 0 && members > 1) throw new ContractException(plugin, $"Compute returned no values (M = {members})");
                foreach (var (key, value) in first)
                {
                    if (string.IsNullOrWhiteSpace(key)) throw new ContractException(plugin, "Compute returned an empty key");
                    if (!double.IsFinite(value)) throw new ContractException(plugin, $"'{key}' is {value} (M = {members}); expected a finite value");
                    if (!fresh.TryGetValue(key, out var f) || f != value || !second.TryGetValue(key, out var s) || s != value)
                        throw new ContractException(plugin, $"'{key}' differs between calls or instances on the same input (M = {members}); a metric must be a pure function of its input");
                }
                if (fresh.Count != first.Count || second.Count != first.Count)
                    throw new ContractException(plugin, $"Compute returned different keys on the same input (M = {members})");
                if (!Tensors.Same([batch.MemberProbabilities, batch.EnsembleProbabilities, batch.Labels], before))
                    throw new ContractException(plugin, "Compute changed its input tensors");
                if (used is IPairwiseMetric pairwise) CheckPairwise(plugin, pairwise, batch.Input, members);
                Tensors.ShouldNotLeak(plugin, "Compute", leakCalls, () => used.Compute(batch.Input));
            }
            finally { Tensors.DisposeAll(before); }
        }
    }

    private static void CheckPairwise(string plugin, IPairwiseMetric metric, MetricInput input, int members)
    {
        var matrices = metric.Pairwise(input);
        if (members < 2 && matrices.Count > 0) throw new ContractException(plugin, "Pairwise returned matrices for a single member; expected none when M < 2");
        foreach (var (key, matrix) in matrices)
        {
            if (matrix.Length != members || matrix.Any(row => row.Length != members))
                throw new ContractException(plugin, $"pairwise '{key}' is not {members} × {members}");
        }
    }
}
