using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SnePlugin;

/// <summary>Options of <see cref="SnePlugin"/>: the YAML keys beside <c>type: sne-plugin-name</c> (snake_case).</summary>
public sealed class SnePluginOptions : IValidatableOptions
{
    /// <summary>How many of the most probable classes count as a hit, ≥ 1 (capped at the number of classes).</summary>
    public int K { get; init; } = 2;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (K < 1) yield return $"k: must be ≥ 1, got {K}";
    }
}

/// <summary>
/// A metric: top-k accuracy of the ensemble, the fraction of rows whose label is among the k most probable classes of
/// p̄ [N, C]; written to results.json as <c>top{k}_accuracy</c>. Select it with <c>metrics: [accuracy, { type: sne-plugin-name, k: 2 }]</c>.
/// </summary>
[Plugin("sne-plugin-name", PluginKind.Metric, OptionsType = typeof(SnePluginOptions), Description = "Top-k accuracy: the label among the k most probable classes")]
public sealed class SnePlugin(SnePluginOptions options) : IMetric
{
    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Compute(MetricInput input)
    {
        using var scope = NewDisposeScope();
        int k = (int)Math.Min(options.K, input.EnsembleProbabilities.shape[1]);
        var top = input.EnsembleProbabilities.topk(k, 1).indexes;
        double hits = top.eq(input.Labels.unsqueeze(1)).any(1).to_type(ScalarType.Float64).mean().ToDouble();
        return new Dictionary<string, double> { [$"top{options.K}_accuracy"] = hits };
    }
}
