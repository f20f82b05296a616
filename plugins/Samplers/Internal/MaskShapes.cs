using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Samplers.Internal;

/// <summary>
/// The unit a sampler selects: a single weight (<see cref="Structure.Connections"/>) or a whole neuron/filter —
/// a row of a Linear weight [out, in], a slice along dim 0 of a Conv weight [out, in, kh, kw] (<see cref="Structure.Neurons"/>).
/// </summary>
public enum Structure
{
    /// <summary>Unstructured: every weight on its own.</summary>
    Connections,
    /// <summary>Structured: whole neurons (Linear rows) and filters (Conv dim-0 slices).</summary>
    Neurons,
}

/// <summary>Where the target sparsity is hit: inside every layer, or once across all maskable layers.</summary>
public enum Scope
{
    /// <summary>Each layer loses the target fraction.</summary>
    Layerwise,
    /// <summary>One threshold over the whole network, so layers lose different fractions.</summary>
    Global,
}

/// <summary>Helpers shared by the samplers: units of a weight and their expansion back to a full mask.</summary>
internal static class MaskShapes
{
    /// <summary>Number of selectable units of <paramref name="weight"/>: its elements, or its rows/filters (dim 0).</summary>
    public static long Units(IMaskableWeight weight, Structure structure) =>
        structure == Structure.Connections ? weight.Weight.numel() : weight.Weight.shape[0];

    /// <summary>A float 0/1 mask of the weight's shape from a 0/1 vector over its units (CPU).</summary>
    public static Tensor Expand(Tensor unitMask, IMaskableWeight weight, Structure structure)
    {
        var shape = weight.Weight.shape;
        using var asFloat = unitMask.to_type(ScalarType.Float32);
        if (structure == Structure.Connections) return asFloat.reshape(shape);
        long[] view = [shape[0], .. Enumerable.Repeat(1L, shape.Length - 1)];
        using var rows = asFloat.reshape(view);
        using var expanded = rows.expand(shape);
        return expanded.contiguous();
    }

    /// <summary>Per-unit L1 magnitude: |w| for connections, Σ|w| over a row/filter for neurons (float32, CPU, flat).</summary>
    public static Tensor Magnitude(IMaskableWeight weight, Structure structure)
    {
        using var scope = NewDisposeScope();
        var abs = weight.Weight.detach().abs().cpu();
        return (structure == Structure.Connections ? abs.flatten() : abs.reshape(abs.shape[0], -1).sum(1)).MoveToOuterDisposeScope();
    }

    /// <summary>A 0/1 float vector of length n keeping exactly <paramref name="kept"/> of the positions given by <paramref name="order"/>'s first entries.</summary>
    public static Tensor KeepFirst(Tensor order, long n, long kept)
    {
        var mask = zeros(n, device: order.device);
        using var selected = order.narrow(0, 0, kept);
        mask.index_fill_(0, selected, 1f);
        return mask;
    }
}
