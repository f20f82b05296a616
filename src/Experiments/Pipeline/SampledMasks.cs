using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// The host's check of what a sampler returned, before any mask reaches a layer: exactly one <see cref="ChildMask"/>
/// per child of the set, every mask named after a weight the sampler was given, of that weight's shape, with values
/// 0 or 1 only (any numeric or bool dtype). A mismatch is an <see cref="InvalidOperationException"/> saying what was
/// wrong, which the caller reports naming the plugin (instead of a native error in the layer that uses the mask).
/// </summary>
public static class SampledMasks
{
    /// <summary>Throws unless <paramref name="set"/> is a valid draw of <paramref name="setSize"/> masks for <paramref name="weights"/>.</summary>
    public static IReadOnlyList<ChildMask> Checked(IReadOnlyList<ChildMask>? set, IReadOnlyList<IMaskableWeight> weights, int setSize)
    {
        if (set is null) throw new InvalidOperationException("returned null instead of a list of masks");
        if (set.Count != setSize)
            throw new InvalidOperationException($"returned {set.Count} masks for a set of {setSize} (its SetSize); return exactly one ChildMask per child of the set");
        var shapes = weights.ToDictionary(w => w.Name, w => w.Weight.shape);
        for (int member = 0; member < set.Count; member++)
        {
            if (set[member]?.Masks is not { } masks) throw new InvalidOperationException($"returned a null mask for member {member} of the set");
            foreach (var (name, mask) in masks)
            {
                string where = $"member {member} of the set, mask '{name}'";
                if (!shapes.TryGetValue(name, out var shape))
                    throw new InvalidOperationException($"{where}: no such maskable weight; the weights it was given are {Names(shapes.Keys)}");
                if (mask is null || mask.IsInvalid) throw new InvalidOperationException($"{where}: the tensor is null or disposed");
                if (!mask.shape.SequenceEqual(shape))
                    throw new InvalidOperationException($"{where}: shape [{string.Join(", ", mask.shape)}], but the weight's is [{string.Join(", ", shape)}]");
                if (mask.dtype is ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64)
                    throw new InvalidOperationException($"{where}: a complex tensor; masks are 0/1 (float32, bool or an integer type)");
                using var _ = no_grad();
                using var isZero = mask.eq(0);
                using var isOne = mask.eq(1);
                using var valid = isZero.logical_or(isOne);
                using var allValid = valid.all();
                if (!allValid.ToBoolean())
                {
                    using var invalid = valid.logical_not();
                    using var first = mask.masked_select(invalid).narrow(0, 0, 1).to_type(ScalarType.Float64);
                    using var count = invalid.sum();
                    throw new InvalidOperationException($"{where}: {count.ToInt64()} values are neither 0 nor 1 (e.g. {first.ToDouble():G6}); a mask keeps (1) or removes (0) each weight");
                }
            }
        }
        return set;
    }

    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count <= 6 ? string.Join(", ", list) : string.Join(", ", list.Take(6)) + $", … ({list.Count} in all)";
    }
}
