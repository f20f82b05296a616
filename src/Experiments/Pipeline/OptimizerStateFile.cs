using System.Text.Json;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Configuration;
using TorchSharp.Modules;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// A stage's final optimiser state (e.g. Adam's step count and moment estimates, SGD's momentum buffers), kept so the next
/// stage of one training trajectory continues it: with <c>children.start: previous</c> and
/// <c>children.carry_optimizer_state</c>, child i's optimiser starts from child i − 1's state and child 0's from the
/// parent's — snapshot ensembles and FGE are one continuous training run (Huang et al. 2017; Garipov et al. 2018).
/// Files: parent.optim and children/child-NNN.optim, checksummed.
/// </summary>
internal static class OptimizerStateFile
{
    private const string Magic = "sne-optimizer-state/1";

    /// <summary>The state file of member <paramref name="index"/> (−1: the parent).</summary>
    public static string Of(RunDirectory run, int index) =>
        index < 0 ? run.Combine("parent.optim") : Path.ChangeExtension(run.ChildCheckpoint(index), ".optim");

    /// <summary>Whether the run's children continue their predecessor's optimiser state.</summary>
    public static bool Carried(ExperimentConfig config) =>
        config.Children is { Start: ChildStart.Previous, CarryOptimizerState: true, Tuning.Epochs: > 0 };

    /// <summary>Whether the parent's optimiser state is carried into child 0: the same optimiser, with the same options, trains both.</summary>
    public static bool CarriedFromParent(ExperimentConfig config) =>
        Carried(config) && config.Parent.Epochs > 0 && SameOptimizer(config.Parent.Optimizer, config.Children.Tuning!.Optimizer);

    /// <summary>Writes <paramref name="optimizer"/>'s state to <paramref name="path"/> atomically, with its checksum.</summary>
    public static void Save(string path, ITrainableOptimizer optimizer, Diagnostics.IFaultPoints? faults = null) =>
        ChecksummedFile.Write(path, writer =>
        {
            writer.Write(Magic);
            Helper(optimizer).save_state_dict(writer);
        }, faults);

    /// <summary>Loads the state at <paramref name="path"/> into <paramref name="optimizer"/> (same parameters, same optimiser type).</summary>
    /// <exception cref="CorruptFileException">The file is damaged or is not an optimiser state.</exception>
    public static void Load(string path, ITrainableOptimizer optimizer)
    {
        using var reader = ChecksummedFile.Open(path);
        if (reader.ReadString() != Magic) throw new CorruptFileException(path, "is not an optimiser state");
        Helper(optimizer).load_state_dict(reader);
    }

    private static OptimizerHelper Helper(ITrainableOptimizer optimizer) =>
        optimizer.Optimizer as OptimizerHelper
        ?? throw new InvalidOperationException($"optimizer {optimizer.Optimizer.GetType().Name} cannot save its state; set children.carry_optimizer_state: false");

    private static bool SameOptimizer(PluginSpec a, PluginSpec b) =>
        a.Type == b.Type && JsonSerializer.Serialize(a.BoundOptions) == JsonSerializer.Serialize(b.BoundOptions);
}

/// <summary>
/// The optimiser state a training stage continues (<see cref="From"/>, null: a fresh optimiser) and what is done with its
/// final state (<see cref="Finished"/>, e.g. <see cref="OptimizerStateFile.Save"/>), called only when the stage succeeds.
/// </summary>
public sealed record OptimizerCarry(string? From, Action<ITrainableOptimizer>? Finished);
