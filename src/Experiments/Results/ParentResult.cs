using System.Text.Json.Serialization;
using SubnetworkEnsembles.Experiments.Pipeline;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// The parent's results: parent.json, and results.json "parent" (the same without <see cref="Seconds"/>). The test-set
/// metrics come first in the object, then train_rows, parameters, nonzero_parameters, history, early_stopping, weights, mc_dropout, seconds.
/// </summary>
public sealed record ParentResult : ITrainedModelResult
{
    /// <summary>Test-set metrics of the parent (written inline, first).</summary>
    [JsonIgnore]
    public MetricValues Metrics { get; init; } = new();

    /// <inheritdoc/>
    public long? TrainRows { get; init; }

    /// <summary>Parameters of the model.</summary>
    public long? Parameters { get; init; }

    /// <inheritdoc/>
    public long? NonzeroParameters { get; init; }

    /// <inheritdoc/>
    public IReadOnlyList<TrainingEpoch>? History { get; init; }

    /// <summary>Where early stopping ended the parent's training (parent.early_stopping); absent without it.</summary>
    public EarlyStoppingResult? EarlyStopping { get; init; }

    /// <summary>The file the parent's weights were loaded from (parent.weights), when given.</summary>
    public ParentWeightsInfo? Weights { get; init; }

    /// <summary>The parent's Monte-Carlo dropout prediction (mc_dropout &gt; 0).</summary>
    public McDropoutResult? McDropout { get; init; }

    /// <summary>Seconds spent loading data and training the parent: in parent.json only.</summary>
    public ParentSeconds? Seconds { get; init; }

    /// <summary>Reads parent.json at <paramref name="path"/>, checked for the keys the ensemble stage reads; <see cref="CorruptFileException"/> when it is damaged.</summary>
    public static ParentResult Read(string path) =>
        ResultsSerializer.Deserialize<ParentResult>(JsonShape.Check(RunFiles.ReadJson(path), path, RunFiles.ParentShape), path);

    /// <summary>Writes parent.json to <paramref name="path"/> atomically.</summary>
    public void Write(string path, Diagnostics.IFaultPoints? faults = null) => RunDirectory.WriteAllTextAtomic(path, ResultsSerializer.Serialize(this), faults);
}

/// <summary>parent.json "seconds": data loading and parent training, in seconds.</summary>
public sealed record ParentSeconds
{
    /// <summary>Seconds spent loading the data.</summary>
    public double Data { get; init; }

    /// <summary>Seconds spent building and training the parent.</summary>
    public double Training { get; init; }
}

/// <summary>A parent's weights loaded from a file (parent.weights): its full path, format, tensor count and SHA-256.</summary>
public sealed record ParentWeightsInfo
{
    /// <summary>The full path of the file.</summary>
    public string? Path { get; init; }

    /// <summary>The file's format (e.g. "PyTorch state_dict").</summary>
    public string? Format { get; init; }

    /// <summary>How many tensors were loaded.</summary>
    public int Tensors { get; init; }

    /// <summary>The SHA-256 of the file, lower-case hex.</summary>
    public string? Sha256 { get; init; }
}

/// <summary>The parent's Monte-Carlo dropout prediction: the mean of <see cref="Samples"/> stochastic passes, and its test metrics (inline).</summary>
public sealed record McDropoutResult
{
    /// <summary>Stochastic forward passes averaged.</summary>
    public int Samples { get; init; }

    /// <summary>Test-set metrics of the averaged prediction (written inline, after samples).</summary>
    [JsonIgnore]
    public MetricValues Metrics { get; init; } = new();
}
