using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Inference;

/// <summary>File formats <see cref="MemberExport"/> writes.</summary>
public enum ExportFormat
{
    /// <summary>A PyTorch state_dict pickle (torch.load(path) → dict of tensors), written without Python by TorchSharp.PyBridge.</summary>
    Pt,
    /// <summary>A safetensors file (safetensors.torch.load_file).</summary>
    Safetensors,
}

/// <summary>The shapes <see cref="MemberExport"/> writes a compact child in.</summary>
public enum ExportLayout
{
    /// <summary>The parent's shapes: a compact child expanded, removed units zero (the same function).</summary>
    Dense,
    /// <summary>The child's own shapes: a compact child's smaller layers (the same as dense for any other member).</summary>
    Compact,
}

/// <summary>What <see cref="MemberExport.Write"/> wrote.</summary>
/// <param name="Tensors">Entries of the state dict.</param>
/// <param name="Parameters">Values in those entries.</param>
/// <param name="Compact">Whether the member is a compact child.</param>
public sealed record ExportSummary(int Tensors, long Parameters, bool Compact);

/// <summary>
/// <c>sne export</c>: one member of a run (the parent or child i) as a state dict another tool reads — PyTorch
/// (<c>torch.load</c>) or safetensors — with the model's own key names. By default masks are applied (each maskable weight
/// is written as W ⊙ M and no <c>*.weight_mask</c> keys), so the file loads with <c>strict=True</c> into a plain PyTorch module
/// of the same architecture; with masks kept, the weights are written as trained and the masks as float 0/1 buffers
/// <c>{layer}.weight_mask</c> (torch.nn.utils.prune's naming; sne reads them back as <c>parent.weights</c>).
/// </summary>
public static class MemberExport
{
    /// <summary>
    /// Writes member <paramref name="index"/> (−1: the parent) of <paramref name="run"/> to <paramref name="output"/>.
    /// Throws <see cref="UsageException"/> for a member the run does not have.
    /// </summary>
    public static ExportSummary Write(PluginFactory plugins, ExperimentConfig config, RunDirectory run, long[] inputShape, int classes, int index,
        ExportFormat format, ExportLayout layout, bool keepMasks, string output)
    {
        string checkpoint = run.MemberCheckpoint(index);
        if (index >= 0 && !RunStatus.ChildFinished(run, index))
            throw new UsageException($"{run.Path} has no finished child {index} ({Path.GetFileName(checkpoint)} and its .json): children are 0 … {config.Children.Count - 1} once made");
        if (index < 0 && !File.Exists(checkpoint)) throw new UsageException($"{run.Path} has no parent checkpoint ({checkpoint}): the parent has not finished");
        bool compact = index >= 0 && SparseCheckpoint.IsSparse(checkpoint) && SparseCheckpointHasPlan(checkpoint);
        using var model = RunDirectory.LoadModel(plugins, config.Model, inputShape, classes, checkpoint, dense: layout == ExportLayout.Dense);
        var state = StateDict(model, keepMasks);
        try
        {
            RunDirectory.WriteAtomic(output, tmp =>
            {
                if (format == ExportFormat.Pt) PyTorchPickler.PickleStateDict(tmp, state);
                else Safetensors.SaveStateDict(tmp, state);
            });
            return new ExportSummary(state.Count, state.Values.Sum(t => t.numel()), compact);
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    /// <summary>The state dict to write: contiguous CPU copies; masks applied (W ⊙ M, no mask keys) unless <paramref name="keepMasks"/>.</summary>
    public static Dictionary<string, Tensor> StateDict(MaskedNetwork model, bool keepMasks)
    {
        using var _ = no_grad();
        var masks = model.MaskedLayers.ToDictionary(l => l.Name, l => l.Mask);
        var state = new Dictionary<string, Tensor>();
        foreach (var (name, value) in model.state_dict())
        {
            bool isMask = name.EndsWith("_mask", StringComparison.Ordinal) && masks.ContainsKey(name[..^"_mask".Length]);
            if (isMask && !keepMasks) continue;
            state[name] = !keepMasks && masks.TryGetValue(name, out var mask)
                ? (value * mask).cpu().contiguous()
                : value.detach().cpu().contiguous().clone();
        }
        return state;
    }

    private static bool SparseCheckpointHasPlan(string file)
    {
        RunDirectory.VerifyCheckpoint(file);
        using var contents = SparseCheckpoint.Read(file);
        return contents.Compaction is not null;
    }
}
