using System.Text.Json.Serialization;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// results.json "corrupted": the parent and the ensemble on every corruption × severity of the test set, one row each,
/// and the means over rows (cAcc, cNLL, cECE) as metric values; with mc_dropout also the parent's Monte-Carlo dropout prediction.
/// </summary>
public sealed record CorruptedResults
{
    /// <summary>The seed of the corruptions.</summary>
    public long Seed { get; init; }

    /// <summary>Corrupted test sets evaluated (kinds × severities).</summary>
    public int Sets { get; init; }

    /// <summary>The parent's metrics averaged over the sets.</summary>
    public MetricValues Parent { get; init; } = new();

    /// <summary>The ensemble's metrics averaged over the sets.</summary>
    public MetricValues Ensemble { get; init; } = new();

    /// <summary>One row per set.</summary>
    public IReadOnlyList<CorruptedRow> Table { get; init; } = [];

    /// <summary>The parent's Monte-Carlo dropout metrics averaged over the sets (mc_dropout &gt; 0).</summary>
    public MetricValues? ParentMcDropout { get; init; }
}

/// <summary>One corrupted test set: its kind and severity, then "{parent|ensemble|parent_mc_dropout}_{metric}" values (inline).</summary>
public sealed record CorruptedRow
{
    /// <summary>The corruption (e.g. "gaussian_noise").</summary>
    public string Kind { get; init; } = "";

    /// <summary>Severity 1 … 5.</summary>
    public int Severity { get; init; }

    /// <summary>Values named "{who}_{metric}", e.g. parent_accuracy, ensemble_nll (written inline, after severity).</summary>
    [JsonIgnore]
    public MetricValues Values { get; init; } = new();
}
