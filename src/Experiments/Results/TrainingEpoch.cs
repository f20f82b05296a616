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

    /// <summary>Wall-clock seconds of the epoch.</summary>
    public double Seconds { get; init; }

    /// <summary>The trainer's record of an epoch.</summary>
    public static TrainingEpoch From(Engine.Training.EpochRecord record) => new()
    {
        Epoch = record.Epoch, Loss = record.Loss, Accuracy = record.Accuracy, Lr = record.LearningRate, Seconds = record.Seconds,
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
}
