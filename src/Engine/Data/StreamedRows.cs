using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Data;

/// <summary>
/// Rows of a dataset plugin's split read on demand: <see cref="Read"/> asks the split for just those rows (through an
/// optional row map, e.g. the training rows left after carving validation), normalises them (x − mean) / std per channel
/// or feature, and moves them to <see cref="Device"/>. Nothing but the labels is held in memory.
/// </summary>
public sealed class StreamedRows : DataRows
{
    private readonly IDataSplit _split;
    private readonly Tensor? _rowMap;
    private readonly Tensor? _mean;
    private readonly Tensor? _std;
    private Tensor _labels;
    private readonly Normalization _normalization;
    private readonly long[] _sampleShape;
    private Device _device = CPU;

    /// <summary>
    /// Rows <paramref name="rowMap"/> (int64 [K] on the CPU, null = all) of <paramref name="split"/> (not owned: the caller
    /// disposes it), normalised with <paramref name="normalization"/> for samples of <paramref name="sampleShape"/>.
    /// </summary>
    public StreamedRows(IDataSplit split, Tensor? rowMap, Normalization normalization, long[] sampleShape)
    {
        _split = split;
        _rowMap = rowMap;
        _normalization = normalization;
        _sampleShape = sampleShape;
        _labels = rowMap is null ? split.Labels.clone() : split.Labels.index_select(0, rowMap);
        if (!normalization.IsIdentity)
        {
            // [C, 1, 1] for images, [F] for tables: broadcast over the batch.
            long[] shape = sampleShape.Length == 3 ? [normalization.Mean.Length, 1, 1] : [normalization.Mean.Length];
            _mean = tensor(normalization.Mean).reshape(shape);
            _std = tensor(normalization.Std).reshape(shape);
        }
    }

    /// <inheritdoc />
    public override long Count => _labels.shape[0];

    /// <inheritdoc />
    public override Tensor Labels => _labels;

    /// <inheritdoc />
    public override long[] SampleShape => _sampleShape;

    /// <inheritdoc />
    public override Device Device => _device;

    /// <inheritdoc />
    public override Tensor Read(Tensor rows)
    {
        using var scope = NewDisposeScope();
        var local = rows.device_type == DeviceType.CPU ? rows : rows.cpu();
        var source = _rowMap is null ? local : _rowMap.index_select(0, local);
        var x = _split.Read(source);
        if (_mean is not null) x = x.sub(_mean).div_(_std!);
        return (_device.type == DeviceType.CPU ? x : x.to(_device)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override DataRows Subset(Tensor rows)
    {
        using var local = rows.cpu();
        var map = _rowMap is null ? local.clone() : _rowMap.index_select(0, local);
        var subset = new StreamedRows(_split, map, _normalization, _sampleShape);
        subset.MoveTo(_device);
        return subset;
    }

    /// <inheritdoc />
    public override void MoveTo(Device device)
    {
        if (_labels.device == device) return;
        var moved = _labels.to(device);
        _labels.Dispose();
        _labels = moved;
        _device = device;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _labels.Dispose();
        _rowMap?.Dispose();
        _mean?.Dispose();
        _std?.Dispose();
    }
}
