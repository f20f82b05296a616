using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Testing.Internal;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing;

/// <summary>
/// The contract of <see cref="IModelFactory"/> in one call: the network has at least one Linear or Conv2d (the host
/// masks their weights); two fresh instances with generators of the same seed build the same initial parameters (even
/// when torch's global generator differs), another seed other parameters; in evaluation mode, inputs [N, …InputShape]
/// give finite logits [N, Classes].
/// </summary>
public static class ModelContract
{
    /// <summary>Checks the model factory made by <paramref name="create"/> for samples of <paramref name="inputShape"/> and <paramref name="classes"/> classes.</summary>
    public static void Check(Func<IModelFactory> create, long[] inputShape, int classes)
    {
        string plugin = PluginNames.Of(create(), "model");
        manual_seed(1);
        var first = Parameters(create(), inputShape, classes, seed: 5, plugin);
        manual_seed(2);
        var again = Parameters(create(), inputShape, classes, seed: 5, plugin);
        var other = Parameters(create(), inputShape, classes, seed: 6, plugin);
        try
        {
            if (!Tensors.Same(first, again))
                throw new ContractException(plugin, "two builds with generators of the same seed have different parameters; initialise from context.Generator (ParameterInit)");
            if (Tensors.Same(first, other))
                throw new ContractException(plugin, "builds with seeds 5 and 6 have the same parameters; initialise from context.Generator (ParameterInit)");
        }
        finally { Tensors.DisposeAll(first.Concat(again).Concat(other)); }
    }

    private static List<Tensor> Parameters(IModelFactory factory, long[] inputShape, int classes, ulong seed, string plugin)
    {
        using var generator = new Generator(seed);
        using var network = factory.Build(new ModelContext(inputShape, classes, generator));
        if (!network.modules().Any(m => m is Linear or Conv2d))
            throw new ContractException(plugin, "the network has no Linear or Conv2d layer, so nothing in it can be masked");
        network.eval();
        using (var scope = NewDisposeScope())
        {
            using var _ = no_grad();
            var output = network.call(randn([3, .. inputShape], generator: generator));
            if (!output.shape.SequenceEqual([3L, classes]))
                throw new ContractException(plugin, $"inputs [3, {string.Join(", ", inputShape)}] gave output {Tensors.Shape(output)}, expected [3, {classes}]");
            if (!Tensors.IsFinite(output)) throw new ContractException(plugin, "the logits have NaN or infinite values");
        }
        return [.. network.parameters().Select(p => p.detach().clone())];
    }
}
