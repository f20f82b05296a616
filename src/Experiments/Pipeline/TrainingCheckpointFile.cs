using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// The resume point of one training stage in a checksummed file (<see cref="ChecksummedFile"/>): a JSON header with
/// the <see cref="TrainingState"/> counters, history and early-stopping state, the shuffle generator's state, the state
/// of the network's own generator (<see cref="MaskedNetwork.Generator"/>: dropout and other draws inside the forward pass;
/// empty when it has none), the model (TorchSharp format), the optimiser's state and, with early stopping's restore_best, the best epoch's state dict
/// (count, then name and tensor per entry). Saved after every epoch and when the run is interrupted; a damaged file is reported and
/// ignored (the stage starts again), never used. Each save passes the fault points <c>write:NAME</c> and then
/// <c>parent-epoch</c> of <paramref name="faults"/>, if given.
/// </summary>
public sealed class TrainingCheckpointFile(string path, ILogger logger, Diagnostics.IFaultPoints? faults = null) : ITrainingCheckpointer
{
    private const string Magic = "sne-training-state/2";

    /// <summary>Checkpoints before the network generator's state was saved: read, with that generator left as it is.</summary>
    private const string MagicWithoutNetworkGenerator = "sne-training-state/1";

    /// <summary>The file.</summary>
    public string Path => path;

    /// <inheritdoc />
    public TrainingState? Load(MaskedNetwork model, ITrainableOptimizer optimizer)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var reader = ChecksummedFile.Open(path);
            string magic = reader.ReadString();
            if (magic != Magic && magic != MagicWithoutNetworkGenerator) throw new CorruptFileException(path, "is not a training checkpoint");
            var header = JsonSerializer.Deserialize<Header>(reader.ReadString(), HeaderOptions)!;
            byte[] shuffle = reader.ReadBytes(reader.ReadInt32());
            byte[] network = magic == Magic ? reader.ReadBytes(reader.ReadInt32()) : [];
            model.load(reader);
            if (network.Length > 0)
            {
                if (model.Generator is null) throw new CorruptFileException(path, "holds a network generator state, but the model has no generator");
                using var state = tensor(network);
                model.Generator.set_state(state);
            }
            foreach (var l in model.MaskedLayers) l.RefreshMaskState();
            Helper(optimizer).load_state_dict(reader);
            var best = header.HasBestWeights ? ReadBestWeights(reader, model) : null;
            return new TrainingState(header.Epoch, header.Batch, shuffle, header.LossSum, header.Correct, header.History, header.EarlyStopping, best);
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
            writer.Write(JsonSerializer.Serialize(new Header(state.Epoch, state.Batch, state.LossSum, state.Correct, state.History.ToList(),
                state.EarlyStopping, state.BestWeights is not null), HeaderOptions));
            writer.Write(state.ShuffleState.Length);
            writer.Write(state.ShuffleState);
            byte[] network = NetworkGeneratorState(model);
            writer.Write(network.Length);
            writer.Write(network);
            model.save(writer);
            Helper(optimizer).save_state_dict(writer);
            if (state.BestWeights is { } best)
            {
                writer.Write(best.Count);
                foreach (var (name, tensor) in best)
                {
                    writer.Write(name);
                    tensor.Save(writer);
                }
            }
        }, faults);
        if (faults is { Enabled: true }) faults.At("parent-epoch");
    }

    private static byte[] NetworkGeneratorState(MaskedNetwork model)
    {
        if (model.Generator is null) return [];
        using var state = model.Generator.get_state();
        return state.bytes.ToArray();
    }

    /// <summary>Removes the file (the stage finished and its final outputs are written).</summary>
    public void Delete() => File.Delete(path);

    private static OptimizerHelper Helper(ITrainableOptimizer optimizer) =>
        optimizer.Optimizer as OptimizerHelper
        ?? throw new InvalidOperationException($"optimizer {optimizer.Optimizer.GetType().Name} cannot save its state, so the run cannot be resumed");

    /// <summary>The best epoch's state dict as saved: tensors shaped as <paramref name="model"/>'s own, on its device.</summary>
    private Dictionary<string, Tensor> ReadBestWeights(BinaryReader reader, MaskedNetwork model)
    {
        var own = model.state_dict();
        int count = reader.ReadInt32();
        var best = new Dictionary<string, Tensor>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                if (!own.TryGetValue(name, out var template)) throw new CorruptFileException(path, $"keeps best weights for '{name}', which the model does not have");
                var tensor = template.detach().clone();
                best[name] = tensor;
                tensor.Load(reader);
            }
            return best;
        }
        catch
        {
            foreach (var t in best.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>Validation metrics may be NaN: written as named literals rather than failing the save.</summary>
    private static readonly JsonSerializerOptions HeaderOptions = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private sealed record Header(int Epoch, long Batch, double LossSum, long Correct, List<EpochRecord> History,
        EarlyStoppingProgress? EarlyStopping = null, bool HasBestWeights = false);
}
