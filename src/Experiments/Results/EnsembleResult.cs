using System.Text.Json.Serialization;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// results.json "ensemble": the combiner, the members combined (child indices, −1 for the parent), the ensemble's test
/// metrics (inline, after member_indices), the children left out because they failed, and the pairwise metrics.
/// </summary>
public sealed record EnsembleResult
{
    /// <summary>The combiner plugin's type (e.g. "mean", "vote").</summary>
    public string Combiner { get; init; } = "";

    /// <summary>How many models were combined (M).</summary>
    public int Members { get; init; }

    /// <summary>Whether the parent is a member (children.include_parent), as index −1, first.</summary>
    public bool IncludesParent { get; init; }

    /// <summary>The members' indices in combination order: −1 the parent, otherwise a child's index.</summary>
    public IReadOnlyList<int> MemberIndices { get; init; } = [];

    /// <summary>Test-set metrics of the combined prediction (written inline, after member_indices).</summary>
    [JsonIgnore]
    public MetricValues Metrics { get; init; } = new();

    /// <summary>Children whose training diverged, left out of the ensemble (fail_fast: false); absent when none.</summary>
    public IReadOnlyList<int>? ExcludedFailed { get; init; }

    /// <summary>Pairwise metrics by name: M × M matrices in member order, entry [i][j] for members i and j (NaN written as null); absent when none.</summary>
    public IReadOnlyDictionary<string, double[][]>? Pairwise { get; init; }
}
