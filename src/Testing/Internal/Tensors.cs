using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing.Internal;

/// <summary>Tensor comparisons, checks and the live-tensor count the contract checks share.</summary>
internal static class Tensors
{
    /// <summary>Tensors created and not yet disposed on this thread (TorchSharp's dispose statistics).</summary>
    public static long Live => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    /// <summary>Same shape and exactly the same values (NaN equals NaN).</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dtype != b.dtype) return false;
        using var scope = NewDisposeScope();
        var x = a.detach().cpu();
        var y = b.detach().cpu();
        var equal = x.eq(y);
        if (x.is_floating_point()) equal = equal.logical_or(x.isnan().logical_and(y.isnan()));
        return equal.all().ToBoolean();
    }

    /// <summary>Every pair in order has the same shape and values.</summary>
    public static bool Same(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b) => a.Count == b.Count && a.Zip(b).All(p => Same(p.First, p.Second));

    /// <summary>Every value is exactly 0 or 1.</summary>
    public static bool IsBinary(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.eq(0).logical_or(t.eq(1)).all().ToBoolean();
    }

    /// <summary>No NaN or infinity.</summary>
    public static bool IsFinite(Tensor t)
    {
        using var scope = NewDisposeScope();
        return !t.is_floating_point() || t.isfinite().all().ToBoolean();
    }

    /// <summary>"[3, 4]".</summary>
    public static string Shape(Tensor t) => Shape(t.shape);

    /// <summary>"[3, 4]".</summary>
    public static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>Detached copies of <paramref name="tensors"/>, owned by the caller.</summary>
    public static List<Tensor> Snapshot(IEnumerable<Tensor> tensors) => [.. tensors.Select(t => t.detach().clone())];

    /// <summary>Disposes every tensor.</summary>
    public static void DisposeAll(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors) t.Dispose();
    }

    /// <summary>
    /// Calls <paramref name="call"/> once to warm up (lazy state, optimiser buffers), then <paramref name="calls"/> times,
    /// and fails when tensors created on this thread were left undisposed: the count must not grow at all.
    /// </summary>
    public static void ShouldNotLeak(string plugin, string what, int calls, Action call)
    {
        call();
        long before = Live;
        for (int i = 0; i < calls; i++) call();
        long grown = Live - before;
        if (grown > 0)
            throw new ContractException(plugin, $"{what} left {grown} tensor(s) undisposed over {calls} calls " +
                $"({(double)grown / calls:0.##} a call); dispose temporaries (using var t = …, or using var scope = NewDisposeScope())");
    }
}
