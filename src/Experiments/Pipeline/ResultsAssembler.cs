using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Results;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// Builds results.json's <see cref="ExperimentResults"/> from what the stages produced: the parent (its stage seconds
/// moved to the run's <see cref="RunSeconds"/>), the members, the ensemble, the trust-region search (its seconds moved
/// likewise), the cost, the corrupted evaluation, the timings and the provenance.
/// </summary>
public static class ResultsAssembler
{
    /// <summary>
    /// The results of a run; seconds.total = data + parent + trust_region + Σ children + <paramref name="ensembleSeconds"/>
    /// (the ensemble stage's time so far).
    /// </summary>
    public static ExperimentResults Assemble(ExperimentConfig config, DataSplits data, ParentResult parent, IReadOnlyList<MemberResult> members,
        EnsembleResult ensemble, TrustRegionReport? trustRegion, RunCost cost, CorruptedResults? corrupted, double ensembleSeconds)
    {
        double dataSeconds = parent.Seconds?.Data ?? 0, parentSeconds = parent.Seconds?.Training ?? 0;
        double searchSeconds = trustRegion?.Seconds ?? 0;
        double childSeconds = members.Sum(m => m.Seconds ?? 0);
        return new ExperimentResults
        {
            Name = config.Name,
            Method = config.Method,
            Seed = config.Seed,
            Data = new DataSummary { Dataset = data.Name, Train = data.Train.Count, Validation = data.Validation.Count, Test = data.Test.Count },
            Parent = parent with { Seconds = null },
            Members = members,
            Ensemble = ensemble,
            TrustRegion = trustRegion is null ? null : trustRegion with { Seconds = null },
            Cost = cost,
            Corrupted = corrupted,
            Seconds = new RunSeconds
            {
                Data = dataSeconds, Parent = parentSeconds, TrustRegion = searchSeconds, Children = childSeconds, Ensemble = ensembleSeconds,
                Total = dataSeconds + parentSeconds + searchSeconds + childSeconds + ensembleSeconds,
            },
            Threads = get_num_threads(),
            Versions = new Provenance
            {
                Sne = typeof(ExperimentRunner).Assembly.GetName().Version?.ToString(),
                TorchSharp = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(),
                Abstractions = typeof(PluginAttribute).Assembly.GetName().Version?.ToString(),
            },
        };
    }
}
