// An out-of-tree model plugin: a residual MLP written as a plain TorchSharp module, with no mask code. The host makes
// every nn.Linear weight maskable (input.weight, blocks.0.expand.weight, …, output.weight) because each submodule is
// invoked with call(x). Build against the host's contracts (see README, "Write your own model or dataset plugin").
using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ResidualMlpPlugin;

/// <summary>Options of <see cref="ResidualMlpModel"/> (YAML: <c>model: { type: residual-mlp, width: 64, blocks: 2 }</c>).</summary>
public sealed class ResidualMlpOptions : IValidatableOptions
{
    /// <summary>Width W of the residual stream.</summary>
    public int Width { get; set; } = 64;

    /// <summary>Number of residual blocks B.</summary>
    public int Blocks { get; set; } = 2;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Width < 1) yield return $"width: must be ≥ 1, got {Width}";
        if (Blocks < 0) yield return $"blocks: must be ≥ 0, got {Blocks}";
    }
}

/// <summary>
/// h₀ = ReLU(Linear(flatten(x))) [N, W]; h_{b+1} = ReLU(h_b + Linear(ReLU(Linear(h_b)))) for b = 0 … B − 1;
/// logits = Linear(h_B) [N, C]. PyTorch's default initialisation, drawn from the context's generator.
/// </summary>
[Plugin("residual-mlp", PluginKind.Model, OptionsType = typeof(ResidualMlpOptions),
    Description = "MLP with residual blocks: Linear → [x + Linear(ReLU(Linear(x)))] × blocks → Linear")]
public sealed class ResidualMlpModel(ResidualMlpOptions options) : IModelFactory
{
    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Build(ModelContext context)
    {
        long features = context.InputShape.Aggregate(1L, (a, b) => a * b);
        var model = new ResidualMlp(features, options.Width, options.Blocks, context.Classes);
        ParameterInit.PyTorchDefault(model, context.Generator);
        return model;
    }
}

/// <summary>The network: input [N, …] (flattened to [N, F]) → logits [N, C].</summary>
public sealed class ResidualMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear input;
    private readonly ModuleList<ResidualBlock> blocks = new();
    private readonly Linear output;

    /// <summary>F inputs, width W, B blocks, C classes.</summary>
    public ResidualMlp(long features, int width, int blockCount, int classes) : base(nameof(ResidualMlp))
    {
        input = nn.Linear(features, width);
        for (int b = 0; b < blockCount; b++) blocks.Add(new ResidualBlock(width));
        output = nn.Linear(width, classes);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(input.call(x.flatten(1)));
        foreach (var block in blocks) h = block.call(h);
        return output.call(h).MoveToOuterDisposeScope();
    }
}

/// <summary>x ↦ ReLU(x + Linear(ReLU(Linear(x)))), [N, W] → [N, W].</summary>
public sealed class ResidualBlock : nn.Module<Tensor, Tensor>
{
    private readonly Linear expand;
    private readonly Linear project;

    /// <summary>A block of width <paramref name="width"/>.</summary>
    public ResidualBlock(int width) : base(nameof(ResidualBlock))
    {
        expand = nn.Linear(width, width);
        project = nn.Linear(width, width);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var update = project.call(nn.functional.relu(expand.call(x)));
        return nn.functional.relu(x + update).MoveToOuterDisposeScope();
    }
}
