using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Data;

/// <summary>
/// Rows the engine trains and evaluates on, read by index in batches: inputs normalised, float32 [B, …sample shape] on
/// <see cref="Device"/>, labels int64. In memory (<see cref="InMemoryDataset"/>: index_select on device tensors) or
/// streamed from a dataset plugin's split (<see cref="StreamedRows"/>: only the rows asked for are read and decoded).
/// </summary>
public abstract class DataRows : IDisposable
{
    /// <summary>Number of rows N.</summary>
    public abstract long Count { get; }

    /// <summary>All labels, int64 [N] on <see cref="Device"/>.</summary>
    public abstract Tensor Labels { get; }

    /// <summary>Shape of one sample, e.g. [1, 28, 28] or [F].</summary>
    public abstract long[] SampleShape { get; }

    /// <summary>Where <see cref="Read"/> returns its tensors.</summary>
    public abstract Device Device { get; }

    /// <summary>Inputs of <paramref name="rows"/> (int64 [B], any device), float32 [B, …] on <see cref="Device"/>; owned by the caller.</summary>
    public abstract Tensor Read(Tensor rows);

    /// <summary>Inputs of rows start … start + count − 1 in order (a view where the rows are in memory).</summary>
    public virtual Tensor ReadRange(long start, long count)
    {
        using var rows = arange(start, start + count, dtype: ScalarType.Int64);
        return Read(rows);
    }

    /// <summary>The rows <paramref name="rows"/> (int64 [K], repeats allowed) as a new set owned by the caller.</summary>
    public abstract DataRows Subset(Tensor rows);

    /// <summary>Moves what is held in memory to <paramref name="device"/>.</summary>
    public abstract void MoveTo(Device device);

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the tensors held.</summary>
    protected abstract void Dispose(bool disposing);
}
