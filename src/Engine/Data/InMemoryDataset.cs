using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Data;

/// <summary>
/// A labelled dataset held in memory as two tensors: inputs float32 [N, …sample shape] and labels int64 [N].
/// </summary>
public sealed class InMemoryDataset(Tensor inputs, Tensor labels) : DataRows
{
    /// <summary>Inputs, float32 [N, …].</summary>
    public Tensor Inputs { get; private set; } = inputs;

    /// <inheritdoc />
    public override Tensor Labels => _labels;

    private Tensor _labels = labels;

    /// <inheritdoc />
    public override long Count => _labels.shape[0];

    /// <inheritdoc />
    public override long[] SampleShape => Inputs.shape[1..];

    /// <inheritdoc />
    public override Device Device => Inputs.device;

    /// <inheritdoc />
    public override Tensor Read(Tensor rows)
    {
        if (rows.device == Inputs.device) return Inputs.index_select(0, rows);
        using var local = rows.to(Inputs.device);
        return Inputs.index_select(0, local);
    }

    /// <inheritdoc />
    public override Tensor ReadRange(long start, long count) => Inputs.narrow(0, start, count);

    /// <inheritdoc />
    public override DataRows Subset(Tensor rows) => Select(rows.device == Inputs.device ? rows : rows.to(Inputs.device));

    /// <summary>A new dataset of the rows <paramref name="indices"/> (int64 [K]).</summary>
    public InMemoryDataset Select(Tensor indices) => new(Inputs.index_select(0, indices), _labels.index_select(0, indices));

    /// <summary>Keeps only the first <paramref name="count"/> rows, in place (all rows when count ≤ 0 or ≥ N).</summary>
    public void Truncate(long count)
    {
        if (count <= 0 || count >= Count) return;
        var (x, y) = (Inputs.narrow(0, 0, count).clone(), _labels.narrow(0, 0, count).clone());
        Inputs.Dispose(); _labels.Dispose();
        (Inputs, _labels) = (x, y);
    }

    /// <inheritdoc />
    public override void MoveTo(Device device)
    {
        if (Inputs.device == device) return;
        var (x, y) = (Inputs.to(device), _labels.to(device));
        Inputs.Dispose(); _labels.Dispose();
        (Inputs, _labels) = (x, y);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        Inputs.Dispose();
        _labels.Dispose();
    }
}

/// <summary>Train / validation / test rows of one task, plus what a model needs to know about it.</summary>
/// <param name="Name">Dataset plugin name, e.g. "fashion-mnist".</param>
/// <param name="Train">Training rows (validation rows removed).</param>
/// <param name="Validation">Held-out rows (may be empty).</param>
/// <param name="Test">The test rows.</param>
/// <param name="InputShape">Shape of one sample, e.g. [1, 28, 28].</param>
/// <param name="Classes">Number of classes C.</param>
public sealed record DataSplits(string Name, DataRows Train, DataRows Validation, DataRows Test, long[] InputShape, int Classes) : IDisposable
{
    /// <summary>Class names in label order (C of them).</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = [.. Enumerable.Range(0, Classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>The normalisation applied to every input (x − mean) / std; <see cref="Abstractions.Normalization.Identity"/> when none.</summary>
    public Abstractions.Normalization Normalization { get; init; } = Abstractions.Normalization.Identity;

    /// <summary>What the rows were read from (a dataset plugin's splits), disposed with them; null when nothing else is held.</summary>
    public IDisposable? Source { get; init; }

    /// <summary>Augmentation of training batches (data.augment), or null.</summary>
    public Augmentation? Augmentation { get; init; }

    /// <summary>True when samples are images [C, H, W].</summary>
    public bool IsImage => InputShape.Length == 3;

    /// <summary>Moves every split to <paramref name="device"/>.</summary>
    public void MoveTo(Device device) { Train.MoveTo(device); Validation.MoveTo(device); Test.MoveTo(device); }

    /// <inheritdoc />
    public void Dispose() { Train.Dispose(); Validation.Dispose(); Test.Dispose(); Source?.Dispose(); }
}
