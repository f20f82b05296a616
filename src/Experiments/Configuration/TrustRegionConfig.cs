namespace SubnetworkEnsembles.Experiments.Configuration;

/// <summary>
/// Trust-region search (dissertation §4.2.1, §4.3): for every σ (× sparsity) of the grid, perturb the parent and measure
/// the mean KL(parent ‖ child) and the children's accuracy on a holdout of <see cref="Samples"/> validation rows; the
/// <see cref="Rule"/> picks the setting the children use. The table goes into results.json.
/// </summary>
public sealed class TrustRegionConfig
{
    /// <summary>Mutation strengths σ to try (the perturbation option named by <see cref="SigmaKey"/>).</summary>
    public List<double> Sigmas { get; init; } = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05];

    /// <summary>Sampler sparsities to try (the sampler option named by <see cref="SparsityKey"/>); empty = the sampler's own.</summary>
    public List<double> Sparsities { get; init; } = [];

    /// <summary>Δ: the largest acceptable mean KL divergence between parent and child outputs.</summary>
    public double TargetKl { get; init; } = 0.02;

    /// <summary>Validation rows the KL and accuracy are measured on.</summary>
    public int Samples { get; init; } = 1000;

    /// <summary>Perturbed children drawn per setting (their KLs are averaged).</summary>
    public int Draws { get; init; } = 2;

    /// <summary>The perturbation option that holds σ.</summary>
    public string SigmaKey { get; init; } = "sigma";

    /// <summary>The sampler option that holds the sparsity.</summary>
    public string SparsityKey { get; init; } = "sparsity";

    /// <summary>How the setting is chosen from the measured table.</summary>
    public TrustRegionRule Rule { get; init; } = TrustRegionRule.MaxAccuracyNearTarget;

    /// <summary>
    /// For <see cref="TrustRegionRule.MaxAccuracyNearTarget"/>: a KL is "near" the target Δ when |KL − Δ| ≤ tolerance · Δ
    /// (0.5: KL in [0.01, 0.03] for Δ = 0.02).
    /// </summary>
    public double KlTolerance { get; init; } = 0.5;

    /// <summary>Which validation rows the search measures on (the dissertation, §4.3: a separate holdout of 1,000 rows).</summary>
    public TrustRegionHoldout Holdout { get; init; } = TrustRegionHoldout.Separate;

    internal IEnumerable<(string, string)> Validate()
    {
        if (Sigmas.Count == 0) yield return ("children.trust_region.sigmas", "list at least one σ");
        if (Sigmas.Any(s => !(s >= 0))) yield return ("children.trust_region.sigmas", "every σ must be ≥ 0");
        if (Sparsities.Any(s => s is < 0 or >= 1)) yield return ("children.trust_region.sparsities", "every sparsity must be in [0, 1)");
        if (!(TargetKl > 0)) yield return ("children.trust_region.target_kl", $"must be > 0, got {TargetKl}");
        if (Samples < 1) yield return ("children.trust_region.samples", $"must be ≥ 1, got {Samples}");
        if (Draws < 1) yield return ("children.trust_region.draws", $"must be ≥ 1, got {Draws}");
        if (!(KlTolerance >= 0)) yield return ("children.trust_region.kl_tolerance", $"must be ≥ 0 (a share of target_kl), got {KlTolerance}");
    }
}

/// <summary>How a trust-region search chooses its setting (children.trust_region.rule).</summary>
public enum TrustRegionRule
{
    /// <summary>
    /// The dissertation's rule (§4.3: "a mutation strength that maximises accuracy while targeting a KL divergence of
    /// approximately 0.02"): among the settings with |KL − Δ| ≤ kl_tolerance · Δ, the one with the highest holdout
    /// accuracy (ties: the stronger); if none is near, the one whose KL is closest to Δ.
    /// </summary>
    MaxAccuracyNearTarget,
    /// <summary>The strongest setting (largest σ²·(1 − sparsity)) whose KL ≤ Δ; if none is, the one with the smallest KL.</summary>
    StrongestWithinTarget,
}

/// <summary>Which validation rows a trust-region search measures on (children.trust_region.holdout).</summary>
public enum TrustRegionHoldout
{
    /// <summary>
    /// The last <c>samples</c> validation rows, which model selection (children.keep) then does not use: search and
    /// selection see disjoint rows, as in the dissertation (§4.3).
    /// </summary>
    Separate,
    /// <summary>The first <c>samples</c> validation rows, which model selection also scores on.</summary>
    Shared,
}
