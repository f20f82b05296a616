using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Testing.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing;

/// <summary>
/// The contract of <see cref="IEnsembleCombiner"/> in one call, on seeded member probabilities [M, N, C] for M = 3 and
/// M = 1: the result is a new tensor (not the input) of shape [N, C], dtype and device of the input, with entries ≥ 0 and
/// rows summing to 1 (within 10⁻⁵); the input is not changed; a used and a fresh instance agree; no tensor left
/// undisposed over repeated calls.
/// </summary>
public static class CombinerContract
{
    /// <summary>Checks the combiner made by <paramref name="create"/>; throws <see cref="ContractException"/> naming it and the first problem.</summary>
    public static void Check(Func<IEnsembleCombiner> create, int leakCalls = 4)
    {
        var used = create();
        string plugin = PluginNames.Of(used, "combiner");
        foreach (int members in (int[])[3, 1])
        {
            using var batch = TestBatches.Predictions(members: members, rows: 20, classes: 5, seed: 3);
            var input = batch.MemberProbabilities;
            using var before = input.clone();
            using var first = used.Combine(input);
            if (ReferenceEquals(first, input)) throw new ContractException(plugin, "Combine returned its input; return a new tensor (the caller disposes it)");
            if (!first.shape.SequenceEqual([input.shape[1], input.shape[2]]))
                throw new ContractException(plugin, $"Combine of [{members}, 20, 5] returned shape {Tensors.Shape(first)}, expected [20, 5]");
            if (first.dtype != input.dtype || first.device_type != input.device_type)
                throw new ContractException(plugin, $"Combine returned {first.dtype} on {first.device}, expected the input's {input.dtype} on {input.device}");
            using (var scope = NewDisposeScope())
            {
                if (first.lt(0).any().ToBoolean()) throw new ContractException(plugin, $"Combine returned negative probabilities (M = {members})");
                double worst = first.sum(1).sub(1).abs().max().ToDouble();
                if (!(worst <= 1e-5)) throw new ContractException(plugin, $"rows of the combined probabilities sum to 1 ± {worst} (M = {members}); expected 1 ± 1e-5");
            }
            if (!Tensors.Same(input, before)) throw new ContractException(plugin, "Combine changed its input");
            using var second = used.Combine(input);
            using var fresh = create().Combine(input);
            if (!Tensors.Same(first, second) || !Tensors.Same(first, fresh))
                throw new ContractException(plugin, $"Combine differs between calls or instances on the same input (M = {members})");
            Tensors.ShouldNotLeak(plugin, "Combine (its result disposed)", leakCalls, () => used.Combine(input).Dispose());
        }
    }
}
