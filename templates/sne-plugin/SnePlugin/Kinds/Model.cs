using SubnetworkEnsembles.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SnePlugin;

/// <summary>Options of <see cref="SnePlugin"/>: the YAML keys beside <c>type: sne-plugin-name</c> (snake_case).</summary>
public sealed class SnePluginOptions : IValidatableOptions
{
    /// <summary>Width of the hidden layer, ≥ 1.</summary>
    public int Hidden { get; init; } = 32;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Hidden < 1) yield return $"hidden: must be ≥ 1, got {Hidden}";
    }
}

/// <summary>
/// A model: flatten → Linear(F, hidden) → ReLU → Linear(hidden, C), for inputs [N, …InputShape] (F = their product) and
/// logits [N, C]. A plain TorchSharp module: the host masks both Linear weights ("hidden.weight", "output.weight").
/// Select it with <c>model: { type: sne-plugin-name, hidden: 32 }</c>.
/// </summary>
[Plugin("sne-plugin-name", PluginKind.Model, OptionsType = typeof(SnePluginOptions), Description = "One-hidden-layer MLP")]
public sealed class SnePlugin(SnePluginOptions options) : IModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Build(ModelContext context)
    {
        long features = context.InputShape.Aggregate(1L, (a, b) => a * b);
        var network = new Network(features, options.Hidden, context.Classes);
        ParameterInit.PyTorchDefault(network, context.Generator);   // every draw from the run's generator
        return network;
    }

    /// <summary>The network; submodules are invoked with <c>call()</c> so that the host's masks apply.</summary>
    private sealed class Network : nn.Module<Tensor, Tensor>
    {
        private readonly Linear hidden;
        private readonly Linear output;

        public Network(long features, int width, int classes) : base("SnePlugin")
        {
            hidden = nn.Linear(features, width);
            output = nn.Linear(width, classes);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var flat = input.flatten(1);
            using var h = hidden.call(flat);
            using var a = nn.functional.relu(h);
            return output.call(a);
        }
    }
}
