using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SnePlugin;

/// <summary>Options of <see cref="SnePlugin"/>: the YAML keys beside <c>type: sne-plugin-name</c> (snake_case).</summary>
public sealed class SnePluginOptions : IValidatableOptions
{
    /// <summary>Probabilities are clamped to at least this value before the logarithm, &gt; 0.</summary>
    public double Floor { get; init; } = 1e-12;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(Floor > 0) || !double.IsFinite(Floor)) yield return $"floor: must be a finite value > 0, got {Floor}";
    }
}

/// <summary>
/// An analysis: the mean predictive entropy H = −(1/N) Σₙ Σ_c p_nc log p_nc of each network's saved test probabilities
/// [N, C] (the parent first, then every ensemble member), as a one-column table "entropy" and the scalar "mean_entropy"
/// over the members. Select it with <c>analyses: [sne-plugin-name]</c> or <c>sne analyze RUN --set analyses=[sne-plugin-name]</c>.
/// </summary>
[Plugin("sne-plugin-name", PluginKind.Analysis, OptionsType = typeof(SnePluginOptions), Description = "Mean predictive entropy of each network")]
public sealed class SnePlugin(SnePluginOptions options) : IAnalysis
{
    /// <inheritdoc />
    public AnalysisOutput Run(AnalysisContext context)
    {
        var entropies = context.Members.Select(m =>
        {
            using var scope = NewDisposeScope();
            var p = m.TestProbabilities.to_type(ScalarType.Float64);
            return p.mul(p.clamp_min(options.Floor).log()).sum(1).neg().mean().ToDouble();
        }).ToArray();
        var table = new AnalysisTable("entropy", context.Members.Select(m => m.Name).ToList(), ["mean entropy (nats)"],
            entropies.Select(e => new[] { e }).ToArray(), "mean predictive entropy on the test split");
        return new AnalysisOutput { Scalars = new Dictionary<string, double> { ["mean_entropy"] = entropies.Average() }, Tables = [table] };
    }
}
