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

/// <summary>
/// Fashion-MNIST-C evaluation (results.json "corrupted"): the parent and the ensemble (selected members from their
/// checkpoints, combined as configured) on every configured corruption × severity of the test set (see
/// <see cref="Corruptions"/>), one row each, and the means over rows — cAcc, cNLL, cECE — beside the clean metrics;
/// with mc_dropout also the parent's Monte-Carlo dropout prediction ("parent_mc_dropout").
/// </summary>
public static class CorruptedEvaluation
{
    /// <summary>Evaluates and returns results.json "corrupted".</summary>
    public static CorruptedResults Run(PluginFactory plugins, CorruptionConfig settings, ExperimentConfig config, DataSplits data, RunDirectory run, IReadOnlyList<int> members,
        MemberEvaluation evaluation, ILogger logger)
    {
        var device = data.Test.Device;
        using var pixels = Pixels(data);   // back to [0, 1]
        using var labels = data.Test.Labels.cpu();
        var models = new List<MaskedNetwork>();
        try
        {
            foreach (var file in members.Select(run.MemberCheckpoint).Prepend(run.ParentCheckpoint))
            {
                var model = RunDirectory.LoadModel(plugins, config.Model, data.InputShape, data.Classes, file);
                model.to(device);
                models.Add(model);
            }
            var rows = new List<CorruptedRow>();
            string[] keys = ["accuracy", "nll", "ece"];
            var sums = new Dictionary<string, double>();
            foreach (var kind in settings.Kinds)
            {
                foreach (int severity in settings.Severities)
                {
                    using var scope = NewDisposeScope();
                    var corrupted = Corruptions.Apply(pixels, kind, severity, settings.Seed);
                    ExperimentData.Normalize(corrupted, data.Normalization, data.InputShape);
                    corrupted = corrupted.to(device);
                    var parent = evaluation.OfOneModel(Evaluator.Probabilities(models[0], corrupted), labels).Values;
                    var ensemble = evaluation.Ensemble(stack(models.Skip(1).Select(m => Evaluator.Probabilities(m, corrupted)).ToList(), 0), labels).Values;
                    var values = new List<KeyValuePair<string, double>>();
                    var evaluated = new List<(string, IReadOnlyDictionary<string, double>)> { ("parent", parent), ("ensemble", ensemble) };
                    if (config.McDropout > 0)   // the Monte-Carlo dropout prediction of the parent, seeded per set
                        evaluated.Add(("parent_mc_dropout", evaluation.OfOneModel(Evaluator.McDropoutProbabilities(models[0], corrupted, config.McDropout,
                            Seeds.Derive(config.Seed, $"mc-dropout/{ConfigNames.EnumValue(kind)}", severity)), labels).Values));
                    foreach (var (who, metrics) in evaluated)
                        foreach (var key in keys.Where(metrics.ContainsKey))
                        {
                            values.Add(KeyValuePair.Create($"{who}_{key}", metrics[key]));
                            sums[$"{who}_{key}"] = sums.GetValueOrDefault($"{who}_{key}") + metrics[key];
                        }
                    rows.Add(new CorruptedRow { Kind = ConfigNames.EnumValue(kind), Severity = severity, Values = new MetricValues(values) });
                }
            }
            int n = rows.Count;
            MetricValues Means(string who) => new(keys.Where(k => sums.ContainsKey($"{who}_{k}")).Select(k => KeyValuePair.Create(k, sums[$"{who}_{k}"] / n)));
            var result = new CorruptedResults
            {
                Seed = settings.Seed, Sets = n, Parent = Means("parent"), Ensemble = Means("ensemble"), Table = rows,
                ParentMcDropout = config.McDropout > 0 ? Means("parent_mc_dropout") : null,
            };
            logger.LogInformation("Corrupted test sets ({Sets}): parent {Parent}; ensemble {Ensemble}", n,
                string.Join(", ", result.Parent.Select(kv => $"c{kv.Key} {kv.Value:F4}")),
                string.Join(", ", result.Ensemble.Select(kv => $"c{kv.Key} {kv.Value:F4}")));
            return result;
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
    }

    /// <summary>The test images back in pixel space, x · std + mean per channel (the inverse of the normalisation), on the CPU.</summary>
    private static Tensor Pixels(DataSplits data)
    {
        if (!data.IsImage) throw new InvalidOperationException($"corruptions apply to images [C, H, W]; '{data.Name}' has samples of shape [{string.Join(", ", data.InputShape)}]");
        using var inputs = data.Test.ReadRange(0, data.Test.Count);
        var norm = data.Normalization;
        if (norm.IsIdentity) return inputs.cpu().clone();
        if (norm.Mean.Length == 1) return inputs.cpu().mul(norm.Std[0]).add_(norm.Mean[0]);
        using var mean = tensor(norm.Mean).reshape(norm.Mean.Length, 1, 1);
        using var std = tensor(norm.Std).reshape(norm.Std.Length, 1, 1);
        return inputs.cpu().mul(std).add_(mean);
    }
}
