using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// The rows <c>map</c> (int64 [K] on the CPU) of another split, as a split of its own: row r is the source's row map[r].
/// Owns neither the source nor the map.
/// </summary>
internal sealed class RowSubset(IDataSplit source, Tensor map) : IDataSplit
{
    private readonly Tensor _labels = source.Labels.index_select(0, map);

    /// <inheritdoc />
    public long Count => map.shape[0];

    /// <inheritdoc />
    public Tensor Labels => _labels;

    /// <inheritdoc />
    public Tensor Read(Tensor rows)
    {
        using var sourceRows = map.index_select(0, rows);
        return source.Read(sourceRows);
    }

    /// <inheritdoc />
    public void Dispose() => _labels.Dispose();
}
