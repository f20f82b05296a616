using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SnePlugin;

/// <summary>Options of <see cref="SnePlugin"/>: the YAML keys beside <c>type: sne-plugin-name</c> (snake_case).</summary>
public sealed class SnePluginOptions : IValidatableOptions
{
    /// <summary>Temperature T &gt; 0 applied to the mean log-probability (1 = the plain geometric mean).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(Temperature > 0) || !double.IsFinite(Temperature)) yield return $"temperature: must be a finite value > 0, got {Temperature}";
    }
}

/// <summary>
/// A combiner: the normalised geometric mean of the members' probabilities [M, N, C],
/// p̄ = softmax((1/T) · (1/M) Σₘ log pₘ) over the classes, rows summing to 1. Select it with <c>combiner: { type: sne-plugin-name }</c>.
/// </summary>
[Plugin("sne-plugin-name", PluginKind.Combiner, OptionsType = typeof(SnePluginOptions), Description = "Normalised geometric mean of the members' probabilities")]
public sealed class SnePlugin(SnePluginOptions options) : IEnsembleCombiner
{
    /// <inheritdoc />
    public Tensor Combine(Tensor memberProbabilities)
    {
        using var scope = NewDisposeScope();
        var meanLog = memberProbabilities.clamp_min(1e-12).log().mean([0]);
        return meanLog.div(options.Temperature).softmax(1).MoveToOuterDisposeScope();
    }
}
