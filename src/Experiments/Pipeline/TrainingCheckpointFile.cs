using System.Text.Json;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using TorchSharp.Modules;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// The resume point of one training stage in a checksummed file (<see cref="ChecksummedFile"/>): a JSON header with
/// the <see cref="TrainingState"/> counters and history, the shuffle generator's state, the model (TorchSharp format)
/// and the optimiser's state. Saved after every epoch and when the run is interrupted; a damaged file is reported and
/// ignored (the stage starts again), never used. Each save passes the fault points <c>write:NAME</c> and then
/// <c>parent-epoch</c> of <paramref name="faults"/>, if given.
/// </summary>
public sealed class TrainingCheckpointFile(string path, ILogger logger, Diagnostics.IFaultPoints? faults = null) : ITrainingCheckpointer
{
    private const string Magic = "sne-training-state/1";

    /// <summary>The file.</summary>
    public string Path => path;

    /// <inheritdoc />
    public TrainingState? Load(MaskedNetwork model, ITrainableOptimizer optimizer)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var reader = ChecksummedFile.Open(path);
            if (reader.ReadString() != Magic) throw new CorruptFileException(path, "is not a training checkpoint");
            var header = JsonSerializer.Deserialize<Header>(reader.ReadString())!;
            byte[] shuffle = reader.ReadBytes(reader.ReadInt32());
            model.load(reader);
            foreach (var l in model.MaskedLayers) l.RefreshMaskState();
            Helper(optimizer).load_state_dict(reader);
            return new TrainingState(header.Epoch, header.Batch, shuffle, header.LossSum, header.Correct, header.History);
        }
        catch (CorruptFileException e)
        {
            logger.LogWarning("{Problem}; not using it, the stage starts again", e.Message);
            return null;
        }
    }

    /// <inheritdoc />
    public void Save(TrainingState state, MaskedNetwork model, ITrainableOptimizer optimizer)
    {
        ChecksummedFile.Write(path, writer =>
        {
            writer.Write(Magic);
            writer.Write(JsonSerializer.Serialize(new Header(state.Epoch, state.Batch, state.LossSum, state.Correct, state.History.ToList())));
            writer.Write(state.ShuffleState.Length);
            writer.Write(state.ShuffleState);
            model.save(writer);
            Helper(optimizer).save_state_dict(writer);
        }, faults);
        if (faults is { Enabled: true }) faults.At("parent-epoch");
    }

    /// <summary>Removes the file (the stage finished and its final outputs are written).</summary>
    public void Delete() => File.Delete(path);

    private static OptimizerHelper Helper(ITrainableOptimizer optimizer) =>
        optimizer.Optimizer as OptimizerHelper
        ?? throw new InvalidOperationException($"optimizer {optimizer.Optimizer.GetType().Name} cannot save its state, so the run cannot be resumed");

    private sealed record Header(int Epoch, long Batch, double LossSum, long Correct, List<EpochRecord> History);
}
