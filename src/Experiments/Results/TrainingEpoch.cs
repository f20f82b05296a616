namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>One epoch of a training history ("history" of the parent and of each child).</summary>
public sealed record TrainingEpoch
{
    /// <summary>The epoch, from 1.</summary>
    public int Epoch { get; init; }

    /// <summary>Mean training loss over the epoch's batches (NaN, written as null, when training diverged).</summary>
    public double Loss { get; init; }

    /// <summary>Training accuracy over the epoch's rows, in [0, 1].</summary>
    public double Accuracy { get; init; }

    /// <summary>The learning rate the epoch ended with.</summary>
    public double Lr { get; init; }

    /// <summary>Wall-clock seconds of the epoch's training (its validation evaluation not included).</summary>
    public double Seconds { get; init; }

    /// <summary>
    /// Validation NLL after the epoch, −(1/N) Σₙ log p(yₙ|xₙ) over the validation split (p clamped to ≥ 1e-12), in
    /// evaluation mode with the target masks; absent when the epoch was not evaluated (validation_interval, no validation rows).
    /// </summary>
    public double? ValLoss { get; init; }

    /// <summary>Validation accuracy after the epoch, in [0, 1]; absent when the epoch was not evaluated.</summary>
    public double? ValAccuracy { get; init; }

    /// <summary>The run's configured non-pairwise metrics on the validation split after the epoch (e.g. nll, ece); absent when not evaluated.</summary>
    public SortedDictionary<string, double>? ValMetrics { get; init; }

    /// <summary>The trainer's record of an epoch.</summary>
    public static TrainingEpoch From(Engine.Training.EpochRecord record) => new()
    {
        Epoch = record.Epoch, Loss = record.Loss, Accuracy = record.Accuracy, Lr = record.LearningRate, Seconds = record.Seconds,
        ValLoss = record.Validation?.Loss, ValAccuracy = record.Validation?.Accuracy,
        ValMetrics = record.Validation is { } v ? new SortedDictionary<string, double>(v.Metrics.ToDictionary(), StringComparer.Ordinal) : null,
    };
}

/// <summary>
/// Where early stopping ended a training stage ("early_stopping" of the parent and of each child): the metric and
/// patience, the best evaluated epoch and its validation value, the epoch after which training stopped (absent when
/// it ran all epochs) and the epoch whose weights the stage ended with (absent without restore_best).
/// </summary>
public sealed record EarlyStoppingResult
{
    /// <summary>The validation metric watched: "nll" or "accuracy".</summary>
    public string? Metric { get; init; }

    /// <summary>Evaluations without improvement that stop the stage.</summary>
    public int Patience { get; init; }

    /// <summary>The evaluated epoch (from 1) with the best validation value; absent when no epoch was evaluated.</summary>
    public int? BestEpoch { get; init; }

    /// <summary>The best validation value (of <see cref="Metric"/>).</summary>
    public double? Best { get; init; }

    /// <summary>The epoch after which training stopped early; absent when the stage trained all its epochs.</summary>
    public int? StoppedEpoch { get; init; }

    /// <summary>The epoch whose weights the stage ended with (restore_best); absent when the last epoch's weights were kept.</summary>
    public int? RestoredEpoch { get; init; }

    /// <summary>The record of a stage trained with <paramref name="config"/>; null when early stopping was off or nothing was trained.</summary>
    public static EarlyStoppingResult? From(Configuration.EarlyStoppingConfig? config, Engine.Training.EarlyStoppingProgress? progress) =>
        config is null || progress is null ? null : new EarlyStoppingResult
        {
            Metric = config.Metric == Engine.Training.StoppingMetric.Nll ? "nll" : "accuracy",
            Patience = config.Patience,
            BestEpoch = progress.BestEpoch > 0 ? progress.BestEpoch : null,
            Best = progress.BestEpoch > 0 ? progress.BestValue : null,
            StoppedEpoch = progress.StoppedEpoch,
            RestoredEpoch = progress.RestoredEpoch,
        };
}

/// <summary>What the cost accounting reads of a trained model's results (the parent's or a child's).</summary>
public interface ITrainedModelResult
{
    /// <summary>Training rows per epoch (a subset or bootstrap may use fewer than the training split); null when not recorded.</summary>
    long? TrainRows { get; }

    /// <summary>Non-zero parameters of the model; null when not recorded.</summary>
    long? NonzeroParameters { get; }

    /// <summary>The training history, one entry per epoch; null when not recorded.</summary>
    IReadOnlyList<TrainingEpoch>? History { get; }

    /// <summary>
    /// Forward FLOPs of one sample as the stored model computes them (a compact child's smaller layers; masked weights
    /// counted dense, as they are computed); null when not recorded (the dense architecture's).
    /// </summary>
    long? ForwardFlops => null;

    /// <summary>Forward FLOPs of one sample as its training computed them (a child compacted after tuning trained dense); null: the dense architecture's.</summary>
    long? TuningForwardFlops => null;
}
