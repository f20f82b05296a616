namespace SubnetworkEnsembles.Experiments.Configuration;

/// <summary>The <c>children:</c> block.</summary>
public sealed class ChildrenConfig
{
    /// <summary>Number of children (ensemble members); 0 with <see cref="IncludeParent"/> = the parent alone (an independent model).</summary>
    public int Count { get; init; } = 6;

    /// <summary>
    /// What each child starts from before ϕ and ξ: <c>parent</c> (the trained parent; Subnetwork Ensembles),
    /// <c>previous</c> (child i − 1's final weights, child 0 the parent's: snapshot ensembles and FGE, members along
    /// one trajectory) or <c>scratch</c> (a fresh initialisation seeded by (seed, child): dense ensembles, bagging).
    /// </summary>
    public ChildStart Start { get; init; } = ChildStart.Parent;

    /// <summary>
    /// The parent is a member of the ensemble too (member index −1, first). The dissertation's Algorithms 1–3 all average
    /// [F(x), c(x) for c in ensemble], so this is on by default; off for an ensemble of the children alone (FGE's cycle
    /// ends, a single pruned child).
    /// </summary>
    public bool IncludeParent { get; init; } = true;

    /// <summary>
    /// With <c>start: previous</c>: child i's optimiser continues child i − 1's final state (child 0's the parent's, when
    /// parent.optimizer and children.tuning.optimizer are the same), as the one continuous run of snapshot ensembles and
    /// FGE does; false: every cycle starts with a fresh optimiser. Stored as children/child-NNN.optim and parent.optim.
    /// </summary>
    public bool CarryOptimizerState { get; init; } = true;

    /// <summary>
    /// Child 0's tuning when it differs from the others' (null: the same). FGE (Garipov et al.) starts its cycles at the
    /// high rate: the first member is reached after half a cycle, from α₁ down to α₂, the later ones after full cycles.
    /// </summary>
    public TrainingConfig? FirstTuning { get; init; }

    /// <summary>The tuning of child <paramref name="index"/>: <see cref="FirstTuning"/> for child 0 when set, else <see cref="Tuning"/>.</summary>
    public TrainingConfig? TuningOf(int index) => index == 0 && FirstTuning is not null && Tuning is not null ? FirstTuning : Tuning;

    /// <summary>Whether the output layer's weight is masked too (biases never are).</summary>
    public bool MaskOutputLayer { get; init; } = true;

    /// <summary>
    /// Which Linear/Conv weights ϕ and ξ act on: glob patterns over weight names ('*' any run of characters, '?' one),
    /// e.g. ["*"] (all), ["classifier.*"], ["*.fc1.weight", "*.conv?.weight"]. Biases and norms are never maskable.
    /// </summary>
    public List<string> Maskable { get; init; } = ["*"];

    /// <summary>Model selection: keep the best <c>keep</c> of the <c>count</c> children, scored on the validation split (0 = keep all).</summary>
    public int Keep { get; init; }

    /// <summary>The validation score model selection ranks children by (the dissertation, §4.2.2: accuracy).</summary>
    public SelectionMetric SelectBy { get; init; } = SelectionMetric.Accuracy;

    /// <summary>Trust-region search over the perturbation strength before the children are made (null = none).</summary>
    public TrustRegionConfig? TrustRegion { get; init; }

    /// <summary>ϕ: the subnetwork sampler.</summary>
    public PluginSpec Sampler { get; init; } = PluginSpec.Named("partition");

    /// <summary>ξ: the perturbation.</summary>
    public PluginSpec Perturbation { get; init; } = PluginSpec.Named("prune");

    /// <summary>How each child is tuned after ξ; <c>none</c> (null) for children without training (Noisy SE).</summary>
    public TrainingConfig? Tuning { get; init; } = new();

    /// <summary>
    /// Every child's BatchNorm running statistics are re-estimated on training batches from its final weights: after ξ
    /// for an untuned child (tuning: none; the parent's statistics no longer describe it), and after tuning for a tuned
    /// one, whose running averages (momentum 0.1) still carry the first steps of a pruned network after a short tuning —
    /// measured on ResNet-20 children tuned for one epoch of 47 steps: test accuracy 0.478 → 0.725, 0.691 → 0.736.
    /// Only for models with BatchNorm (MLP and LeNet have none).
    /// </summary>
    public bool ReestimateBatchNorm { get; init; } = true;

    /// <summary>
    /// <c>auto</c>: a child whose masks remove whole units (Linear rows, Conv2d filters — the <c>structured</c> sampler,
    /// <c>partition</c> or <c>magnitude</c> with <c>structure: neurons</c>) is made physically smaller: those units, and
    /// the next layer's inputs that read them, are removed, their constant output folded into the next layer's bias
    /// (<see cref="Engine.Models.StructuredCompaction"/>); it is tuned, evaluated, stored and predicted compact. Before
    /// tuning when the masks cannot change during it (no stochastic masks, a perturbation without tuning-step hooks, no
    /// carried optimiser state), else after tuning. <c>off</c>: every child stays its parent's shape, computed masked-dense.
    /// </summary>
    public ChildCompaction Compact { get; init; } = ChildCompaction.Auto;

    /// <summary>Training batches (of the parent's batch size) the BatchNorm re-estimation averages over.</summary>
    public int ReestimateBatches { get; init; } = 50;

    internal IEnumerable<(string, string)> Validate()
    {
        if (Count < (IncludeParent ? 0 : 1))
            yield return ("children.count", IncludeParent ? $"must be ≥ 0, got {Count}" : $"must be ≥ 1 (or 0 with include_parent: true, the parent alone), got {Count}");
        if (Tuning is not null) foreach (var p in Tuning.Validate("children.tuning", minEpochs: 0)) yield return p;
        if (FirstTuning is not null) foreach (var p in FirstTuning.Validate("children.first_tuning", minEpochs: 1)) yield return p;
        if (FirstTuning is not null && Tuning is { Epochs: > 0 } && Start == ChildStart.Previous && CarryOptimizerState && FirstTuning.Optimizer.Type != Tuning.Optimizer.Type)
            yield return ("children.first_tuning.optimizer", $"child 1 continues child 0's optimiser state (children.carry_optimizer_state: true), so child 0 needs " +
                $"children.tuning's optimiser '{Tuning.Optimizer.Type}', got '{FirstTuning.Optimizer.Type}'; use '{Tuning.Optimizer.Type}' or set carry_optimizer_state: false");
        if (Keep < 0 || Keep > Count) yield return ("children.keep", $"must be between 0 (keep all) and children.count ({Count}), got {Keep}");
        if (Maskable.Count == 0) yield return ("children.maskable", "list at least one pattern, e.g. [\"*\"]");
        if (TrustRegion is not null) foreach (var p in TrustRegion.Validate()) yield return p;
    }
}

/// <summary>What a child starts from (children.start).</summary>
public enum ChildStart
{
    /// <summary>The trained parent.</summary>
    Parent,
    /// <summary>The previous child's final weights (child 0: the parent's).</summary>
    Previous,
    /// <summary>A fresh initialisation seeded by (seed, child index).</summary>
    Scratch,
}

/// <summary>Whether structured children are made physically smaller (children.compact).</summary>
public enum ChildCompaction
{
    /// <summary>Compact a child whose masks remove whole units.</summary>
    Auto,
    /// <summary>Never: children keep the parent's shape.</summary>
    Off,
}

/// <summary>Validation score used to rank children in model selection.</summary>
public enum SelectionMetric
{
    /// <summary>Lower negative log-likelihood is better.</summary>
    Nll,
    /// <summary>Higher accuracy is better.</summary>
    Accuracy,
}
