using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>
/// Cost of one maskable layer for one sample. Forward FLOPs count a multiply and an add per weight use:
/// Linear 2·in·out; Conv2d 2·(C_in/groups)·k_h·k_w·C_out·H_out·W_out. <see cref="SparseForwardFlops"/> counts only the
/// unmasked weights (what a sparse kernel would do); this engine computes masked weights densely (W ⊙ M in a dense
/// matmul/convolution), so its real cost is <see cref="ForwardFlops"/>.
/// </summary>
public sealed record LayerCost(string Name, string Kind, long Weights, long NonZeroWeights, long Biases, long ForwardFlops, long SparseForwardFlops);

/// <summary>
/// Counts parameters and FLOPs per layer of a <see cref="MaskedNetwork"/> by running one sample through it and reading
/// each layer's output shape. Training costs ≈ 3 × forward per sample (forward, then backward for activations and
/// for weights: 2 × forward); biases and activations are ignored (≪ 1 % here).
/// </summary>
public static class FlopCounter
{
    /// <summary>Per-layer costs, in forward order.</summary>
    public static IReadOnlyList<LayerCost> Layers(MaskedNetwork model)
    {
        var outputs = new Dictionary<MaskedLayer, long[]>(ReferenceEqualityComparer.Instance);
        var hooks = model.MaskedLayers.Select(l => l.Module.register_forward_hook((m, input, output) =>
        {
            outputs[l] = output.shape;
            return output;
        })).ToList();
        try
        {
            using var _ = no_grad();
            bool training = model.training;
            model.eval();
            using (var x = zeros([1, .. model.InputShape])) using (model.call(x)) { }
            if (training) model.train();
        }
        finally
        {
            foreach (var h in hooks) h.remove();
        }
        return model.MaskedLayers.Select(l =>
        {
            long weights = l.weight.numel();
            long nonZero = (long)l.Mask.sum().ToDouble();
            long biases = l.bias?.numel() ?? 0;
            var shape = outputs[l];
            // Each weight is used once per output position: Linear once per sample, Conv2d at every H_out·W_out position.
            long positions = shape.Length == 4 ? shape[2] * shape[3] : 1;
            return new LayerCost(l.Name, l.Kind, weights, nonZero, biases, 2 * weights * positions, 2 * nonZero * positions);
        }).ToList();
    }

    /// <summary>Forward FLOPs of one sample (dense).</summary>
    public static long ForwardFlops(MaskedNetwork model) => Layers(model).Sum(l => l.ForwardFlops);

    /// <summary>Training FLOPs: 3 × forward × samples × epochs (dense, as computed here).</summary>
    public static double TrainingFlops(MaskedNetwork model, long samples, int epochs) => 3.0 * ForwardFlops(model) * samples * epochs;
}
