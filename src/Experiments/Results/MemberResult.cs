using System.Text.Json.Serialization;
using SubnetworkEnsembles.Experiments.Pipeline;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// One child: children/child-NNN.json, and an entry of results.json "members" (with <see cref="Selected"/>). A child
/// whose training failed is only index, failed and selected. Keys in order: index, set, start, train_rows, the test
/// metrics, validation_nll or validation_accuracy, sparsity, nonzero_parameters, forward_flops,
/// tuning_forward_flops, compaction, seconds, history, early_stopping, failed, selected.
/// </summary>
public sealed record MemberResult : ITrainedModelResult
{
    /// <summary>The child's index, from 0.</summary>
    public int Index { get; init; }

    /// <summary>The set of children whose masks were drawn together (index / the sampler's set size).</summary>
    public int? Set { get; init; }

    /// <summary>What the child started from: "parent", "scratch" or "child N".</summary>
    public string? Start { get; init; }

    /// <inheritdoc/>
    public long? TrainRows { get; init; }

    /// <summary>Test-set metrics of the child (written inline, after train_rows).</summary>
    [JsonIgnore]
    public MetricValues Metrics { get; init; } = new();

    /// <summary>Validation NLL, the model-selection score under select_by: nll.</summary>
    public double? ValidationNll { get; init; }

    /// <summary>Validation accuracy, the model-selection score under select_by: accuracy.</summary>
    public double? ValidationAccuracy { get; init; }

    /// <summary>Fraction of the maskable weights that are zero, in [0, 1].</summary>
    public double? Sparsity { get; init; }

    /// <inheritdoc/>
    public long? NonzeroParameters { get; init; }

    /// <inheritdoc/>
    public long? ForwardFlops { get; init; }

    /// <inheritdoc/>
    public long? TuningForwardFlops { get; init; }

    /// <summary>What children.compact did: absent when it is off (or for a child made by an older sne).</summary>
    public CompactionResult? Compaction { get; init; }

    /// <summary>Wall-clock seconds spent making the child.</summary>
    public double? Seconds { get; init; }

    /// <inheritdoc/>
    public IReadOnlyList<TrainingEpoch>? History { get; init; }

    /// <summary>Where early stopping ended the child's tuning (children.tuning.early_stopping); absent without it.</summary>
    public EarlyStoppingResult? EarlyStopping { get; init; }

    /// <summary>Why the child failed (its children/child-NNN.failed), for a failed child in results.json.</summary>
    public string? Failed { get; init; }

    /// <summary>Whether model selection kept the child for the ensemble (results.json only).</summary>
    public bool? Selected { get; init; }

    /// <summary>
    /// Reads children/child-NNN.json at <paramref name="path"/>, which must describe child <paramref name="index"/> and hold
    /// <paramref name="scoreKey"/> (validation_nll or validation_accuracy) when selection needs it; <see cref="CorruptFileException"/> when damaged.
    /// </summary>
    public static MemberResult Read(string path, int index, string? scoreKey = null)
    {
        var node = JsonShape.Check(RunFiles.ReadJson(path), path, scoreKey is null ? RunFiles.ChildShape : [.. RunFiles.ChildShape, scoreKey + ":number"]);
        var child = ResultsSerializer.Deserialize<MemberResult>(node, path);
        if (child.Index != index) throw new CorruptFileException(path, $"describes child {child.Index}, expected child {index}");
        return child;
    }

    /// <summary>Writes children/child-NNN.json to <paramref name="path"/> atomically.</summary>
    public void Write(string path, Diagnostics.IFaultPoints? faults = null) => RunDirectory.WriteAllTextAtomic(path, ResultsSerializer.Serialize(this), faults);
}

/// <summary>
/// children.compact for one child: whether it is compact, when it was compacted ("before tuning", "after tuning",
/// "untuned"), per compacted layer [units kept, dense units], per layer with removed units left dense the reason, and the
/// largest logit difference between the compact and the masked dense child on probe inputs.
/// </summary>
public sealed record CompactionResult
{
    /// <summary>Whether the child is stored and computed physically smaller.</summary>
    public bool Compact { get; init; }

    /// <summary>When compaction was tried.</summary>
    public string When { get; init; } = "";

    /// <summary>Compacted layers: weight name → [units kept, units of the dense layer].</summary>
    public IReadOnlyDictionary<string, long[]>? Layers { get; init; }

    /// <summary>Layers with removed units that stayed dense: weight name → why.</summary>
    public IReadOnlyDictionary<string, string>? KeptDense { get; init; }

    /// <summary>max |logit(compact) − logit(masked dense)| on 64 probe inputs.</summary>
    public double? MaxLogitDifference { get; init; }
}
