using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Models;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Training;

/// <summary>
/// Where a training run stands, enough to continue it exactly: the next epoch and batch, the shuffle generator's
/// state at the start of that epoch (so the epoch's permutation is drawn again identically), the epoch's running
/// loss sum and correct count so far, the finished epochs and early stopping's state. Weights and optimiser state travel beside it.
/// </summary>
/// <param name="Epoch">Zero-based epoch to continue in.</param>
/// <param name="Batch">Zero-based batch of that epoch to run next.</param>
/// <param name="ShuffleState">State of the shuffle generator before the epoch's <c>randperm</c> (bytes of <c>Generator.get_state()</c>).</param>
/// <param name="LossSum">Σ batch-mean loss × batch size over the epoch's finished batches.</param>
/// <param name="Correct">Correct training predictions over the epoch's finished batches.</param>
/// <param name="History">Records of the finished epochs.</param>
/// <param name="EarlyStopping">Where early stopping stands (null without early stopping).</param>
/// <param name="BestWeights">The best evaluated epoch's state dict kept by early stopping with restore_best (null otherwise).</param>
public sealed record TrainingState(int Epoch, long Batch, byte[] ShuffleState, double LossSum, long Correct, IReadOnlyList<EpochRecord> History,
    EarlyStoppingProgress? EarlyStopping = null, IReadOnlyDictionary<string, Tensor>? BestWeights = null);

/// <summary>
/// Saves and restores a training run (<see cref="TrainingState"/>, the model's weights and the optimiser's state), so
/// an interrupted run continues where it stopped and ends with the same weights as an uninterrupted one.
/// </summary>
public interface ITrainingCheckpointer
{
    /// <summary>Restores weights and optimiser state into the given objects and returns the state; null when there is nothing to resume.</summary>
    TrainingState? Load(MaskedNetwork model, ITrainableOptimizer optimizer);

    /// <summary>Saves <paramref name="state"/> with the current weights and optimiser state (atomically: an old checkpoint survives a failed save).</summary>
    void Save(TrainingState state, MaskedNetwork model, ITrainableOptimizer optimizer);
}
