using SubnetworkEnsembles.Experiments.Pipeline;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// The trust-region search: trust_region.json and results.json "trust_region" (the same without <see cref="Seconds"/>).
/// For every σ × sparsity of the grid, KL = (1/N) Σₙ Σ_c p_parent log(p_parent / p_child) on the
/// <see cref="Samples"/> holdout rows <see cref="HoldoutRows"/> of the validation split, averaged over <see cref="Draws"/>
/// untuned children; <see cref="Rule"/> chooses the setting.
/// </summary>
public sealed record TrustRegionReport
{
    /// <summary>The KL budget Δ.</summary>
    public double TargetKl { get; init; }

    /// <summary>Validation rows compared (N).</summary>
    public long Samples { get; init; }

    /// <summary>Untuned children drawn per setting.</summary>
    public int Draws { get; init; }

    /// <summary>The rule that chose (max-accuracy-near-target or strongest-within-target); absent in files of sne before 1.3.</summary>
    public string? Rule { get; init; }

    /// <summary>max-accuracy-near-target: "near" is |KL − Δ| ≤ tolerance · Δ.</summary>
    public double? KlTolerance { get; init; }

    /// <summary>The validation rows [first, end) measured on.</summary>
    public long[]? HoldoutRows { get; init; }

    /// <summary>The setting chosen.</summary>
    public TrustRegionSetting Chosen { get; init; } = new();

    /// <summary>Every setting tried, in search order.</summary>
    public IReadOnlyList<TrustRegionRow> Table { get; init; } = [];

    /// <summary>Seconds the search took: in trust_region.json only.</summary>
    public double? Seconds { get; init; }

    /// <summary>Reads trust_region.json at <paramref name="path"/>, checked for the choice the children use; <see cref="CorruptFileException"/> when damaged.</summary>
    public static TrustRegionReport Read(string path) =>
        ResultsSerializer.Deserialize<TrustRegionReport>(
            JsonShape.Check(RunFiles.ReadJson(path), path, ["chosen.sigma:number", "chosen.sparsity:number", "table[].sigma:number"]), path);

    /// <summary>Writes trust_region.json to <paramref name="path"/> atomically.</summary>
    public void Write(string path, Diagnostics.IFaultPoints? faults = null) => RunDirectory.WriteAllTextAtomic(path, ResultsSerializer.Serialize(this), faults);
}

/// <summary>The setting a trust-region search chose: σ, the measured sparsity and its mean KL.</summary>
public sealed record TrustRegionSetting
{
    /// <summary>The perturbation's σ.</summary>
    public double Sigma { get; init; }

    /// <summary>The sparsity measured on a sampled mask, in [0, 1].</summary>
    public double Sparsity { get; init; }

    /// <summary>Mean KL(parent ‖ child) over the draws.</summary>
    public double Kl { get; init; }
}

/// <summary>One setting of the trust-region grid and what it gave.</summary>
public sealed record TrustRegionRow
{
    /// <summary>The perturbation's σ.</summary>
    public double Sigma { get; init; }

    /// <summary>The sparsity measured on a sampled mask, in [0, 1].</summary>
    public double Sparsity { get; init; }

    /// <summary>Mean KL(parent ‖ child) over the draws.</summary>
    public double Kl { get; init; }

    /// <summary>Mean validation accuracy of the untuned children on the compared rows.</summary>
    public double Accuracy { get; init; }

    /// <summary>Whether KL ≤ the target.</summary>
    public bool WithinTarget { get; init; }

    /// <summary>
    /// Whether the search's rule admits the setting: |KL − Δ| ≤ kl_tolerance · Δ (max-accuracy-near-target) or KL ≤ Δ
    /// (strongest-within-target); null in results written before the field existed.
    /// </summary>
    public bool? Admissible { get; init; }

    /// <summary>True on the chosen row; absent elsewhere.</summary>
    public bool? Chosen { get; init; }
}
