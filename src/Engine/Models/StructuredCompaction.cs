using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>
/// Which output units (Linear rows, Conv2d filters) of each masked layer a compact child keeps, by weight name; a layer
/// absent from <see cref="KeptUnits"/> keeps all of its units. Each array is the ascending indices into the dense layer's
/// output dimension. Saved with a compact child so it can be rebuilt from the dense architecture (<see cref="StructuredCompaction.Shrink"/>).
/// </summary>
/// <param name="KeptUnits">Per compacted layer, the dense output units kept, ascending.</param>
/// <param name="DenseUnits">Per compacted layer, its number of output units in the dense architecture (checked on load).</param>
public sealed record CompactionPlan(IReadOnlyDictionary<string, long[]> KeptUnits, IReadOnlyDictionary<string, long> DenseUnits);

/// <summary>
/// Physically smaller children for structured masks. A masked layer P whose mask M has whole rows of zeros (a Linear
/// weight [out, in] with M[j, :] = 0, a Conv2d weight [out, in, kh, kw] with M[j] = 0) computes nothing with unit j but its
/// bias: unit j outputs the constant b_j, and what reaches the next masked layer C is the constant c_j = g(b_j), where g is
/// whatever lies between them (activation, pooling, dropout in evaluation, BatchNorm in evaluation). Compaction removes
/// row j of P (and of its mask, and the matching entries of BatchNorm layers between P and C) and the input columns
/// (Linear; k = in_C / out_P columns per unit, as flatten lays out [N, c, h, w]) or input channels (Conv2d) of C that read
/// unit j, and folds the constant's contribution into C's bias: b_C ← b_C + (W_C ⊙ M_C)[:, cols(j)] · c_j, computed once
/// from the masked dense network (for a Conv2d C the contribution must be the same at every output position, which holds
/// when C has no zero padding on those channels; otherwise P is left dense). The compact network computes the same
/// function as the masked dense one in evaluation mode: checked on probe inputs before it is used.
/// <para>
/// A layer P is compacted only when (1) it is not the output layer (its rows are the classes), (2) its next masked layer
/// in forward order C reads its units directly: C's input is P's output through parameter-free modules and BatchNorm
/// layers of P's width (not a residual sum or a concatenation: the constant-input check below rejects those), (3) what C
/// reads of every removed unit is the same for different inputs, and (4) both are Linear or ungrouped Conv2d. Anything
/// else keeps P dense (masked); <see cref="Plan"/> returns why. Residual networks: units inside a block (conv1 of a
/// BasicBlock, feeding conv2) are compactable; the block's last conv feeds a sum with the shortcut and is kept dense.
/// </para>
/// </summary>
public static partial class StructuredCompaction
{
    private const double ConstantTolerance = 1e-6;

    /// <summary>
    /// What <see cref="Plan"/> found: the layers to shrink (null when no layer can be compacted) and, per masked layer with
    /// zero rows that stays dense, why.
    /// </summary>
    public sealed record PlanResult(CompactionPlan? Plan, IReadOnlyDictionary<string, string> KeptDense);

    /// <summary>
    /// Finds the layers of <paramref name="network"/> (a masked dense network) whose zero mask rows can be removed, and checks
    /// on two probe inputs drawn from a generator seeded with <paramref name="probeSeed"/> that what the next layer reads of
    /// each removed unit is constant. Leaves the network unchanged.
    /// </summary>
    public static PlanResult Plan(MaskedNetwork network, long probeSeed = 0)
    {
        var keptDense = new Dictionary<string, string>();
        var kept = new Dictionary<string, long[]>();
        var dense = new Dictionary<string, long>();
        var links = Links(network, keptDense);
        if (links.Count == 0) return new PlanResult(null, keptDense);
        var inputs = ConsumerInputs(network, links.Select(l => l.Consumer), probeSeed);
        try
        {
            foreach (var link in links)
            {
                using var removed = RemovedUnits(link.Producer);
                var input = inputs[link.Consumer];
                if (link.Consumer.Module is Linear && input.dim() != 2)
                {
                    keptDense[link.Producer.Name] = $"{link.Consumer.Name} reads [{string.Join(", ", input.shape)}], not [N, features]";
                    continue;
                }
                if (!ReadsConstants(input, removed, link.ColumnsPerUnit))
                {
                    keptDense[link.Producer.Name] = $"what {link.Consumer.Name} reads of its removed units depends on the input (a residual sum or another path joins it)";
                    continue;
                }
                using var contribution = Contribution(link, input, removed);
                if (contribution is null)
                {
                    keptDense[link.Producer.Name] = $"the removed units' constant output reaches {link.Consumer.Name} differently at different positions (zero padding)";
                    continue;
                }
                if (link.Consumer.bias is null && contribution.abs().max().ToDouble() > 0)
                {
                    keptDense[link.Producer.Name] = $"{link.Consumer.Name} has no bias to take the removed units' constant output";
                    continue;
                }
                if (OtherReader(network, link, removed, input, probeSeed) is { } other)
                {
                    keptDense[link.Producer.Name] = other;
                    continue;
                }
                kept[link.Producer.Name] = KeptUnits(link.Producer);
                dense[link.Producer.Name] = link.Producer.weight.shape[0];
            }
        }
        finally
        {
            foreach (var t in inputs.Values) t.Dispose();
        }
        return new PlanResult(kept.Count == 0 ? null : new CompactionPlan(kept, dense), keptDense);
    }

    /// <summary>
    /// Compacts <paramref name="network"/> in place by <paramref name="plan"/> (from <see cref="Plan"/> on this network):
    /// folds each removed unit's constant output into its consumer's bias, then shrinks the layers. Afterwards the
    /// network is smaller and computes the same logits in evaluation mode (up to float rounding).
    /// </summary>
    public static void Compact(MaskedNetwork network, CompactionPlan plan, long probeSeed = 0)
    {
        var links = Links(network, new Dictionary<string, string>(), plan.KeptUnits.Keys.ToList());
        var inputs = ConsumerInputs(network, links.Select(l => l.Consumer), probeSeed);
        try
        {
            var folds = new List<(MaskedLayer Consumer, Tensor Contribution)>();
            foreach (var link in links)
            {
                var contribution = Contribution(link, inputs[link.Consumer], RemovedUnits(link.Producer))
                    ?? throw new InvalidOperationException($"{link.Producer.Name}: the plan does not fit this network (its removed units are not constant)");
                folds.Add((link.Consumer, contribution));
            }
            using (no_grad())
            {
                foreach (var (consumer, contribution) in folds)
                {
                    using (contribution)
                        consumer.bias?.add_(contribution.to(consumer.bias.dtype, consumer.bias.device));
                }
            }
        }
        finally
        {
            foreach (var t in inputs.Values) t.Dispose();
        }
        ShrinkLinked(network, plan, links);
    }

    /// <summary>
    /// The largest |Δ| between the logits of <paramref name="a"/> and <paramref name="b"/> (evaluation mode) on 64 standard
    /// normal probe inputs drawn from a generator seeded with <paramref name="probeSeed"/>.
    /// </summary>
    public static double MaxLogitDifference(MaskedNetwork a, MaskedNetwork b, long probeSeed)
    {
        using var ya = ProbeLogits(a, probeSeed, 64);
        using var yb = ProbeLogits(b, probeSeed, 64);
        using var difference = (ya - yb).abs().max();
        return difference.ToDouble();
    }

    /// <summary>Indices of the units of <paramref name="layer"/> whose mask row is not all zero, ascending.</summary>
    public static long[] KeptUnits(MaskedLayer layer)
    {
        using var rowAlive = RowAlive(layer);
        return rowAlive.nonzero().flatten().cpu().data<long>().ToArray();
    }

    private static Tensor RemovedUnits(MaskedLayer layer)
    {
        using var rowAlive = RowAlive(layer);
        using var dead = rowAlive.logical_not();
        return dead.nonzero().flatten();
    }

    private static Tensor RowAlive(MaskedLayer layer)
    {
        using var flat = layer.Mask.reshape(layer.Mask.shape[0], -1);
        using var nonZero = flat.ne(0);
        return nonZero.any(1);
    }

    /// <summary>What each consumer reads on two probe inputs (standard normal, seeded): [2, …] per consumer, owned by the caller.</summary>
    private static Dictionary<MaskedLayer, Tensor> ConsumerInputs(MaskedNetwork network, IEnumerable<MaskedLayer> consumers, long probeSeed)
    {
        var captured = new Dictionary<MaskedLayer, Tensor>(ReferenceEqualityComparer.Instance);
        var wanted = consumers.Distinct().ToList();
        var hooks = wanted.Select(c => c.Module.register_forward_pre_hook((module, input) =>
        {
            // Out of any dispose scope the model's forward may open (it would free the copy when the forward ends).
            if (!captured.ContainsKey(c)) captured[c] = input.detach().clone().DetachFromDisposeScope();
            return null!;
        })).ToList();
        try
        {
            using var y = ProbeLogits(network, probeSeed);
        }
        finally
        {
            foreach (var h in hooks) h.remove();
        }
        return captured;
    }

    /// <summary>
    /// Null when only <paramref name="link"/>'s consumer reads the producer's removed units; else why not. Checked by
    /// changing the removed units' output (+1) while the consumer is handed what it read before (<paramref name="input"/>):
    /// any other path from them to the logits (a residual sum, a concatenation) changes the logits.
    /// </summary>
    private static string? OtherReader(MaskedNetwork network, Link link, Tensor removed, Tensor input, long probeSeed)
    {
        using var reference = ProbeLogits(network, probeSeed);
        var outputHook = link.Producer.Module.register_forward_hook((module, x, output) =>
        {
            using var shift = zeros_like(output);
            shift.index_fill_(1, removed, 1);
            return output + shift;
        });
        var inputHook = link.Consumer.Module.register_forward_pre_hook((module, x) => input.clone());
        try
        {
            using var changed = ProbeLogits(network, probeSeed);
            using var difference = (changed - reference).abs().max();
            using var scale = reference.abs().max();
            return difference.ToDouble() <= 1e-5 * (1 + scale.ToDouble()) ? null
                : $"its units reach the output by a path other than {link.Consumer.Name} (a residual sum or a concatenation)";
        }
        finally
        {
            outputHook.remove();
            inputHook.remove();
        }
    }

    /// <summary>
    /// The logits of <paramref name="rows"/> probe inputs — standard normal from a CPU generator seeded with
    /// <paramref name="probeSeed"/>, or zeros when it is null — in evaluation mode without gradients; the network's mode
    /// is restored.
    /// </summary>
    private static Tensor ProbeLogits(MaskedNetwork network, long? probeSeed, int rows = 2)
    {
        bool training = network.training;
        try
        {
            using var _ = no_grad();
            network.eval();
            var device = network.MaskedLayers[0].weight.device;
            using var generator = probeSeed is long seed ? new Generator((ulong)seed) : null;
            using var x = generator is null ? zeros([rows, .. network.InputShape], device: device)
                : randn([rows, .. network.InputShape], generator: generator, device: CPU).to(device);
            return network.call(x);
        }
        finally
        {
            network.train(training);
        }
    }

    /// <summary>Whether the columns/channels a consumer reads of <paramref name="removed"/> units are the same for both probe rows.</summary>
    private static bool ReadsConstants(Tensor input, Tensor removed, long columnsPerUnit)
    {
        using var read = Read(input, removed, columnsPerUnit);
        using var first = read[0];
        using var second = read[1];
        using var difference = (first - second).abs().max();
        using var scale = first.abs().max();
        return difference.ToDouble() <= ConstantTolerance * (1 + scale.ToDouble());
    }

    /// <summary>The part of a consumer's input [2, …] that reads the <paramref name="removed"/> units: [2, |R|·k] or [2, |R|, h, w].</summary>
    private static Tensor Read(Tensor input, Tensor removed, long columnsPerUnit)
    {
        if (input.dim() == 2)
        {
            using var columns = Columns(removed, columnsPerUnit);
            return input.index_select(1, columns);
        }
        return input.index_select(1, removed);
    }

    /// <summary>
    /// What the removed units add to the consumer's output: [out_C], or null for a Conv2d consumer where it differs between
    /// output positions. Computed with the consumer's effective weight W ⊙ M.
    /// </summary>
    private static Tensor? Contribution(Link link, Tensor input, Tensor removed)
    {
        using var _ = no_grad();
        var c = link.Consumer;
        using var effective = c.weight * c.Mask;
        using var read = Read(input, removed, link.ColumnsPerUnit);
        using var constant = read[0].unsqueeze(0);
        if (c.Module is Linear)
        {
            using var columns = Columns(removed, link.ColumnsPerUnit);
            using var w = effective.index_select(1, columns);
            using var product = constant.matmul(w.t());
            return product.squeeze(0);
        }
        var conv = (Conv2d)c.Module;
        if (conv.padding is null || conv.padding_mode != PaddingModes.Zeros) return null;   // 'same' or non-zero padding: not worked out here
        using var wc = effective.index_select(1, removed);
        using var map = nn.functional.conv2d(constant, wc, null, conv.stride, conv.padding, conv.dilation);
        using var perChannel = map.flatten(2);                  // [1, out, positions]
        using var low = perChannel.amin(2);
        using var high = perChannel.amax(2);
        using var spread = (high - low).abs().max();
        using var scale = high.abs().max();
        if (spread.ToDouble() > ConstantTolerance * (1 + scale.ToDouble())) return null;
        return perChannel[0, TensorIndex.Colon, 0].clone();
    }

}
