using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>What a model plugin is told when it builds a network.</summary>
/// <param name="InputShape">Shape of one input sample from the dataset, e.g. [1, 28, 28] or [3, 32, 32] or [F].</param>
/// <param name="Classes">Number of classes C from the dataset: the network outputs logits [N, C].</param>
/// <param name="Generator">
/// The generator every random draw of the network must use: its initial weights (see <see cref="ParameterInit"/>) and its
/// dropout masks in training (see <see cref="GeneratorDropout"/>). Seeded from the run's seed; owned by the host.
/// </param>
public sealed record ModelContext(long[] InputShape, int Classes, Generator Generator);

/// <summary>
/// A network architecture (<see cref="PluginKind.Model"/>, selected by <c>model: { type: NAME, … }</c>). It returns a
/// plain TorchSharp module — input float32 [N, …InputShape], output logits [N, Classes] — and writes no mask code: the host
/// makes the weight of every <c>nn.Linear</c> and <c>nn.Conv2d</c> in the module tree maskable (the weight used in the
/// forward pass is W ⊙ M, the idea of PyTorch's <c>torch.nn.utils.prune</c>), named by its state-dict key
/// (e.g. <c>layer1.0.conv1.weight</c>). For that, submodules must be invoked with <c>call(x)</c>, as TorchSharp's own
/// containers do, not <c>forward(x)</c> (which skips hooks); the host checks this before training and names the layer
/// that is never reached. The last Linear/Conv2d to run is the output layer (<c>children.mask_output_layer</c>).
/// BatchNorm layers are supported (their statistics are re-estimated for children changed without tuning).
/// </summary>
public interface IModelFactory
{
    /// <summary>
    /// Builds a freshly initialised network. Must draw all randomness from <see cref="ModelContext.Generator"/> (or from
    /// TorchSharp's default initialisation, which the host makes reproducible by seeding torch's global generator from the
    /// run's seed just before this call). Throw <see cref="ArgumentException"/> for a shape the architecture cannot take.
    /// </summary>
    nn.Module<Tensor, Tensor> Build(ModelContext context);
}
