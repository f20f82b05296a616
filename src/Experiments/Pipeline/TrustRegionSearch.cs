using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Experiments.Results;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>The setting a trust-region search chose: option overrides for the sampler and the perturbation.</summary>
public sealed record TrustRegionChoice(Dictionary<string, object> SamplerOverrides, Dictionary<string, object> PerturbationOverrides, TrustRegionReport Report);

/// <summary>
/// Trust-region search (dissertation §4.2.1). For every σ × sparsity of the grid, <c>draws</c> untuned children are made
/// (seed stream "trust-region/") and compared with the parent on the first <c>samples</c> validation rows:
/// KL = (1/N) Σₙ Σ_c p_parent log(p_parent / p_child), plus the child's accuracy. The strongest setting — largest
/// σ²·(1 − sparsity), with the sparsity measured on a sampled mask — whose mean KL ≤ Δ is chosen; if none is, the one with the smallest KL (and a warning).
/// Test data is never used.
/// </summary>
public static class TrustRegionSearch
{
    /// <summary>
    /// Runs the search; the report holds the full KL / accuracy table and the choice. After each σ × sparsity setting is
    /// measured it passes the fault point <c>trust-region</c> of <paramref name="faults"/>, if given.
    /// </summary>
    public static TrustRegionChoice Run(ExperimentConfig config, DataSplits data, Device device, Trainer trainer, MaskedNetwork parent,
        PluginFactory plugins, ILogger logger, CancellationToken cancellation, Diagnostics.IFaultPoints? faults = null)
    {
        var region = config.Children.TrustRegion!;
        long samples = Math.Min(region.Samples, data.Validation.Count);
        if (samples < 1) throw new InvalidOperationException("the trust-region search needs validation rows: set data.validation > 0");
        using var inputs = data.Validation.ReadRange(0, samples);
        using var labels = data.Validation.Labels.narrow(0, 0, samples).cpu();
        using var parentProbs = Evaluator.Probabilities(parent, inputs);
        var sparsities = region.Sparsities.Count > 0 ? region.Sparsities.Select(s => (double?)s).ToList() : [null];

        var rows = new List<(double Sigma, double? Sparsity, double Kl, double Strength, TrustRegionRow Row)>();
        foreach (var sparsity in sparsities)
        {
            foreach (double sigma in region.Sigmas)
            {
                cancellation.ThrowIfCancellationRequested();
                var samplerOverrides = Overrides(region.SparsityKey, sparsity);
                var perturbationOverrides = Overrides(region.SigmaKey, sigma);
                var sampler = plugins.Create<ISubnetworkSampler>(config.Children.Sampler, samplerOverrides);
                var perturbation = plugins.Create<IPerturbation>(config.Children.Perturbation, perturbationOverrides);
                using var builder = new ChildBuilder(config, data, device, trainer, parent, plugins, sampler, perturbation, "trust-region/");
                double maskSparsity = MaskSparsity(builder, config.Seed);
                double kl = 0, accuracy = 0;
                for (int d = 0; d < region.Draws; d++)
                {
                    var (child, _) = builder.Build(d, tune: false, cancellation);
                    using (child)
                    using (var probs = Evaluator.Probabilities(child, inputs))
                    {
                        kl += KlDivergence(parentProbs, probs) / region.Draws;
                        using var hits = probs.argmax(1).eq(labels).to_type(ScalarType.Float64).mean();
                        accuracy += hits.ToDouble() / region.Draws;
                    }
                }
                double s = maskSparsity;
                var row = new TrustRegionRow { Sigma = sigma, Sparsity = s, Kl = kl, Accuracy = accuracy, WithinTarget = kl <= region.TargetKl };
                rows.Add((sigma, sparsity, kl, sigma * sigma * (1 - s), row));
                logger.LogInformation("Trust region: σ {Sigma:G4}, sparsity {Sparsity:P0}: KL {Kl:F4}, validation accuracy {Accuracy:P2}", sigma, s, kl, accuracy);
                if (faults is { Enabled: true }) faults.At("trust-region");
            }
        }
        var within = rows.Where(r => r.Kl <= region.TargetKl).ToList();
        var chosen = within.Count > 0 ? within.MaxBy(r => (r.Strength, r.Sigma)) : rows.MinBy(r => r.Kl);
        if (within.Count == 0)
            logger.LogWarning("Trust region: no setting has KL ≤ {Target}; using the closest (σ {Sigma:G4}, KL {Kl:F4})", region.TargetKl, chosen.Sigma, chosen.Kl);
        logger.LogInformation("Trust region: chose σ {Sigma:G4}, sparsity {Sparsity} (KL {Kl:F4} ≤ {Target})", chosen.Sigma,
            chosen.Sparsity?.ToString("P0", System.Globalization.CultureInfo.InvariantCulture) ?? "as configured", chosen.Kl, region.TargetKl);
        var report = new TrustRegionReport
        {
            TargetKl = region.TargetKl, Samples = samples, Draws = region.Draws,
            Chosen = new TrustRegionSetting { Sigma = chosen.Sigma, Sparsity = chosen.Row.Sparsity, Kl = chosen.Kl },
            Table = rows.Select(r => ReferenceEquals(r.Row, chosen.Row) ? r.Row with { Chosen = true } : r.Row).ToList(),
        };
        return new TrustRegionChoice(Overrides(region.SparsityKey, chosen.Sparsity), Overrides(region.SigmaKey, chosen.Sigma)!, report);
    }

    /// <summary>Mean KL(p ‖ q) over rows: (1/N) Σₙ Σ_c p log(p / q), in float64, with q clamped to ≥ 1e-12.</summary>
    public static double KlDivergence(Tensor p, Tensor q)
    {
        using var scope = NewDisposeScope();
        var p64 = p.to_type(ScalarType.Float64);
        var q64 = q.to_type(ScalarType.Float64).clamp_min(1e-12);
        var terms = p64 * (p64.clamp_min(1e-12).log() - q64.log());
        return terms.sum(1).mean().ToDouble();
    }

    private static Dictionary<string, object> Overrides(string key, double? value) =>
        value is double v ? new Dictionary<string, object> { [key] = v } : [];

    /// <summary>The measured sparsity of the sampler's first mask (the fraction of noise-free entries for noise ξ).</summary>
    private static double MaskSparsity(ChildBuilder builder, long seed)
    {
        using var generator = Seeds.Generator(seed, "trust-region/sparsity");
        var set = builder.SampleSet(0, generator);
        double sparsity = set[0].Sparsity;
        foreach (var m in set) m.Dispose();
        return sparsity;
    }

    /// <summary>The sampler and perturbation option overrides the trust-region search chose (none without a search).</summary>
    internal static (Dictionary<string, object>? Sampler, Dictionary<string, object>? Perturbation) ChosenOverrides(ExperimentConfig config, RunDirectory run)
    {
        if (config.Children.TrustRegion is not { } region) return (null, null);
        if (!File.Exists(run.TrustRegionFile)) throw new InvalidOperationException($"{run.TrustRegionFile} is missing: the parent stage runs the trust-region search");
        var chosen = ReadChoice(run).Chosen;
        var sampler = region.Sparsities.Count > 0 ? new Dictionary<string, object> { [region.SparsityKey] = chosen.Sparsity } : null;
        return (sampler, new Dictionary<string, object> { [region.SigmaKey] = chosen.Sigma });
    }

    /// <summary>trust_region.json, with the choice the children use.</summary>
    internal static TrustRegionReport ReadChoice(RunDirectory run) => TrustRegionReport.Read(run.TrustRegionFile);
}
