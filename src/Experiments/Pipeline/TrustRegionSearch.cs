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
/// Trust-region search (dissertation §4.2.1, §4.3). For every σ × sparsity of the grid, <c>draws</c> untuned children are
/// made (seed stream "trust-region/") and compared with the parent on a holdout of <c>samples</c> validation rows
/// (<see cref="ValidationRoles.Holdout"/>: by default disjoint from model selection's rows):
/// KL = (1/N) Σₙ Σ_c p_parent log(p_parent / p_child), plus the children's accuracy. The setting is chosen by
/// <see cref="Choose"/> under children.trust_region.rule. Test data is never used.
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
        if (data.Validation.Count < 1) throw new UsageException("the trust-region search needs validation rows: set data.validation > 0");
        var (first, samples) = ValidationRoles.Holdout(config, data.Validation.Count);
        using var inputs = data.Validation.ReadRange(first, samples);
        using var labels = data.Validation.Labels.narrow(0, first, samples).cpu();
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
        int index = Choose(rows.Select(r => (r.Kl, r.Row.Accuracy, r.Strength, r.Sigma)).ToList(), region, out bool admissible);
        var chosen = rows[index];
        string why = region.Rule == TrustRegionRule.MaxAccuracyNearTarget ? $"|KL − {region.TargetKl}| ≤ {region.KlTolerance * region.TargetKl:G3}" : $"KL ≤ {region.TargetKl}";
        if (!admissible)
            logger.LogWarning("Trust region: no setting has {Why}; using the one closest to the target (σ {Sigma:G4}, KL {Kl:F4})", why, chosen.Sigma, chosen.Kl);
        logger.LogInformation("Trust region: chose σ {Sigma:G4}, sparsity {Sparsity} (KL {Kl:F4}, holdout accuracy {Accuracy:P2}; rule {Rule}: {Why})", chosen.Sigma,
            chosen.Sparsity?.ToString("P0", System.Globalization.CultureInfo.InvariantCulture) ?? "as configured", chosen.Kl, chosen.Row.Accuracy,
            ConfigNames.EnumValue(region.Rule), why);
        var report = new TrustRegionReport
        {
            TargetKl = region.TargetKl, Samples = samples, Draws = region.Draws,
            Rule = ConfigNames.EnumValue(region.Rule), KlTolerance = region.Rule == TrustRegionRule.MaxAccuracyNearTarget ? region.KlTolerance : null,
            HoldoutRows = [first, first + samples],
            Chosen = new TrustRegionSetting { Sigma = chosen.Sigma, Sparsity = chosen.Row.Sparsity, Kl = chosen.Kl },
            Table = rows.Select(r => r.Row with { Admissible = Admits(r.Kl, region), Chosen = ReferenceEquals(r.Row, chosen.Row) ? true : null }).ToList(),
        };
        return new TrustRegionChoice(Overrides(region.SparsityKey, chosen.Sparsity), Overrides(region.SigmaKey, chosen.Sigma)!, report);
    }

    /// <summary>
    /// The index of the chosen setting among <paramref name="settings"/> (KL, holdout accuracy, strength σ²·(1 − sparsity), σ)
    /// under <paramref name="region"/>'s rule:
    /// <list type="bullet">
    /// <item><c>max-accuracy-near-target</c>: the highest accuracy among settings with |KL − Δ| ≤ tolerance · Δ (ties: the
    /// stronger, then the larger σ);</item>
    /// <item><c>strongest-within-target</c>: the strongest setting with KL ≤ Δ (ties: the larger σ).</item>
    /// </list>
    /// When no setting is admissible, the one whose KL is closest to Δ, and <paramref name="admissible"/> is false.
    /// </summary>
    public static int Choose(IReadOnlyList<(double Kl, double Accuracy, double Strength, double Sigma)> settings, TrustRegionConfig region, out bool admissible)
    {
        if (settings.Count == 0) throw new ArgumentException("the trust-region grid is empty", nameof(settings));
        double delta = region.TargetKl;
        var indices = Enumerable.Range(0, settings.Count);
        var candidates = indices.Where(i => Admits(settings[i].Kl, region)).ToList();
        admissible = candidates.Count > 0;
        if (!admissible) return indices.MinBy(i => (Math.Abs(settings[i].Kl - delta), settings[i].Kl));
        return region.Rule == TrustRegionRule.MaxAccuracyNearTarget
            ? candidates.MaxBy(i => (settings[i].Accuracy, settings[i].Strength, settings[i].Sigma))
            : candidates.MaxBy(i => (settings[i].Strength, settings[i].Sigma));
    }

    /// <summary>
    /// Whether <paramref name="region"/>'s rule admits a setting of this KL: |KL − Δ| ≤ tolerance · Δ
    /// (<c>max-accuracy-near-target</c>) or KL ≤ Δ (<c>strongest-within-target</c>).
    /// </summary>
    public static bool Admits(double kl, TrustRegionConfig region) => region.Rule == TrustRegionRule.MaxAccuracyNearTarget
        ? Math.Abs(kl - region.TargetKl) <= region.KlTolerance * region.TargetKl
        : kl <= region.TargetKl;

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
