namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// results.json "cost": forward FLOPs per sample (per layer and in total), training FLOPs (3 × forward × rows × epochs,
/// as executed and dense-equivalent), epochs and parameter counts, each also relative to one independent model trained reference.epochs on the
/// whole training split.
/// </summary>
public sealed record RunCost
{
    /// <summary>
    /// Always true: masked (unstructured) weights are computed densely, W ⊙ M in a dense product, and counted so; only
    /// compact children (children.compact) compute fewer FLOPs.
    /// </summary>
    public bool MaskedWeightsComputedDensely { get; init; }

    /// <summary>Forward FLOPs of one sample through one model (2 × multiply-adds of the maskable layers).</summary>
    public long ForwardFlopsPerSample { get; init; }

    /// <summary>The maskable layers and their forward FLOPs.</summary>
    public IReadOnlyList<LayerCostEntry>? Layers { get; init; }

    /// <summary>Rows of the training split.</summary>
    public long TrainingRows { get; init; }

    /// <summary>The independent model the relative figures compare with.</summary>
    public ReferenceCost? Reference { get; init; }

    /// <summary>Training epochs: parent, children (summed), total, total / reference epochs (NaN, written null, without a reference).</summary>
    public StageTotals<int>? Epochs { get; init; }

    /// <summary>
    /// Training FLOPs as executed: parent, children (summed; a child tuned compact at its compact size), total, total /
    /// reference FLOPs (NaN, written null, without a reference).
    /// </summary>
    public StageTotals<double>? TrainingFlops { get; init; }

    /// <summary>Training FLOPs with every child counted at the parent's size (what the run costs without compaction).</summary>
    public StageTotals<double>? DenseEquivalentTrainingFlops { get; init; }

    /// <summary>Parameter counts of one model and of the ensemble.</summary>
    public ParameterCost? Parameters { get; init; }

    /// <summary>Inference FLOPs per sample of the ensemble (M × forward).</summary>
    public InferenceCost? InferenceFlopsPerSample { get; init; }
}

/// <summary>One maskable layer of the cost table.</summary>
public sealed record LayerCostEntry
{
    /// <summary>The weight's parameter name.</summary>
    public string Name { get; init; } = "";

    /// <summary>"linear" or "conv2d".</summary>
    public string Kind { get; init; } = "";

    /// <summary>Weight entries.</summary>
    public long Weights { get; init; }

    /// <summary>Bias entries.</summary>
    public long Biases { get; init; }

    /// <summary>Forward FLOPs of one sample through the layer.</summary>
    public long ForwardFlops { get; init; }
}

/// <summary>The reference independent model: its epochs and training FLOPs (3 × forward × rows × epochs).</summary>
public sealed record ReferenceCost
{
    /// <summary>reference_epochs, or parent.epochs.</summary>
    public int Epochs { get; init; }

    /// <summary>3 × forward × training rows × epochs.</summary>
    public double TrainingFlops { get; init; }
}

/// <summary>A training cost of the parent, of the children together, their total, and total / reference.</summary>
public sealed record StageTotals<T> where T : struct
{
    /// <summary>The parent's.</summary>
    public T Parent { get; init; }

    /// <summary>The children's, summed.</summary>
    public T Children { get; init; }

    /// <summary>Parent + children.</summary>
    public T Total { get; init; }

    /// <summary>Total / the reference model's (NaN, written as null, when the reference is 0).</summary>
    public double RelativeToIndependent { get; init; }
}

/// <summary>Parameter counts: one model, the ensemble (M × model), its non-zero ones, and both relative to one model.</summary>
public sealed record ParameterCost
{
    /// <summary>Parameters of one model.</summary>
    public long Model { get; init; }

    /// <summary>M × model.</summary>
    public long Ensemble { get; init; }

    /// <summary>Non-zero parameters summed over the members.</summary>
    public long EnsembleNonzero { get; init; }

    /// <summary>Ensemble / model (= M).</summary>
    public double EnsembleRelativeToIndependent { get; init; }

    /// <summary>Ensemble non-zero / model.</summary>
    public double EnsembleNonzeroRelativeToIndependent { get; init; }
}

/// <summary>Inference FLOPs per sample of the ensemble as executed (compact members at their size) and dense-equivalent (M × one model).</summary>
public sealed record InferenceCost
{
    /// <summary>Σ over members of their forward FLOPs per sample, as computed.</summary>
    public long Ensemble { get; init; }

    /// <summary><see cref="Ensemble"/> / one model's forward FLOPs (= M without compact members).</summary>
    public double RelativeToIndependent { get; init; }

    /// <summary>M × one model's forward FLOPs per sample (absent in results of an older sne, where <see cref="Ensemble"/> is this).</summary>
    public long? DenseEquivalent { get; init; }

    /// <summary>M (absent in results of an older sne).</summary>
    public int? DenseEquivalentRelativeToIndependent { get; init; }
}
