using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Data;

/// <summary>
/// A labelled dataset held in memory as two tensors: inputs float32 [N, …sample shape] and labels int64 [N].
/// </summary>
public sealed class InMemoryDataset(Tensor inputs, Tensor labels) : IDisposable
{
    /// <summary>Inputs, float32 [N, …].</summary>
    public Tensor Inputs { get; private set; } = inputs;

    /// <summary>Labels, int64 [N].</summary>
    public Tensor Labels { get; private set; } = labels;

    /// <summary>N.</summary>
    public long Count => Labels.shape[0];

    /// <summary>A new dataset of the rows <paramref name="indices"/> (int64 [K]).</summary>
    public InMemoryDataset Select(Tensor indices) => new(Inputs.index_select(0, indices), Labels.index_select(0, indices));

    /// <summary>Keeps only the first <paramref name="count"/> rows, in place (all rows when count ≤ 0 or ≥ N).</summary>
    public void Truncate(long count)
    {
        if (count <= 0 || count >= Count) return;
        var (x, y) = (Inputs.narrow(0, 0, count).clone(), Labels.narrow(0, 0, count).clone());
        Inputs.Dispose(); Labels.Dispose();
        (Inputs, Labels) = (x, y);
    }

    /// <summary>Moves both tensors to <paramref name="device"/> (no copy when already there).</summary>
    public void MoveTo(Device device)
    {
        if (Inputs.device == device) return;
        var (x, y) = (Inputs.to(device), Labels.to(device));
        Inputs.Dispose(); Labels.Dispose();
        (Inputs, Labels) = (x, y);
    }

    /// <inheritdoc />
    public void Dispose() { Inputs.Dispose(); Labels.Dispose(); }
}

/// <summary>Train / validation / test splits of one task, plus what a model needs to know about it.</summary>
/// <param name="Name">Dataset name, e.g. "fashion-mnist".</param>
/// <param name="Train">Training rows (validation rows removed).</param>
/// <param name="Validation">Held-out rows carved deterministically from the training file (may be empty).</param>
/// <param name="Test">The test set.</param>
/// <param name="InputShape">Shape of one sample, e.g. [1, 28, 28].</param>
/// <param name="Classes">Number of classes C.</param>
public sealed record DataSplits(string Name, InMemoryDataset Train, InMemoryDataset Validation, InMemoryDataset Test,
    long[] InputShape, int Classes) : IDisposable
{
    /// <summary>Moves every split to <paramref name="device"/>.</summary>
    public void MoveTo(Device device) { Train.MoveTo(device); Validation.MoveTo(device); Test.MoveTo(device); }

    /// <inheritdoc />
    public void Dispose() { Train.Dispose(); Validation.Dispose(); Test.Dispose(); }
}
