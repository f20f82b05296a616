using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Host.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Host.Pipeline;

/// <summary>
/// Fashion-MNIST-C evaluation (results.json "corrupted"): the parent and the ensemble (selected members from their
/// checkpoints, combined as configured) on every configured corruption × severity of the test set (see
/// <see cref="Corruptions"/>), one row each, and the means over rows — cAcc, cNLL, cECE — beside the clean metrics.
/// </summary>
public static class CorruptedEvaluation
{
    /// <summary>Evaluates and returns the "corrupted" object.</summary>
    public static JsonObject Run(CorruptionConfig settings, ExperimentConfig config, DataSplits data, RunDirectory run, IReadOnlyList<int> members,
        MemberEvaluation evaluation, ILogger logger)
    {
        var device = data.Test.Inputs.device;
        using var pixels = data.Test.Inputs.cpu().mul(DatasetLoader.FashionStd).add_(DatasetLoader.FashionMean);   // back to [0, 1]
        using var labels = data.Test.Labels.cpu();
        var models = new List<MaskedNetwork>();
        try
        {
            foreach (var file in members.Select(run.ChildCheckpoint).Prepend(run.ParentCheckpoint))
            {
                var model = RunDirectory.LoadModel(config.Model, data.InputShape, data.Classes, file);
                model.to(device);
                models.Add(model);
            }
            var rows = new JsonArray();
            string[] keys = ["accuracy", "nll", "ece"];
            var sums = new Dictionary<string, double>();
            foreach (var kind in settings.Kinds)
            {
                foreach (int severity in settings.Severities)
                {
                    using var scope = NewDisposeScope();
                    var corrupted = Corruptions.Apply(pixels, kind, severity, settings.Seed).sub_(DatasetLoader.FashionMean).div_(DatasetLoader.FashionStd).to(device);
                    var parent = evaluation.Single(Evaluator.Probabilities(models[0], corrupted), labels).Values;
                    var ensemble = evaluation.Ensemble(stack(models.Skip(1).Select(m => Evaluator.Probabilities(m, corrupted)).ToList(), 0), labels).Values;
                    var row = new JsonObject { ["kind"] = ConfigNames.EnumValue(kind), ["severity"] = severity };
                    foreach (var (who, values) in new[] { ("parent", parent), ("ensemble", ensemble) })
                        foreach (var key in keys.Where(values.ContainsKey))
                        {
                            row[$"{who}_{key}"] = values[key];
                            sums[$"{who}_{key}"] = sums.GetValueOrDefault($"{who}_{key}") + values[key];
                        }
                    rows.Add(row);
                }
            }
            int n = rows.Count;
            JsonObject Means(string who) => new(keys.Where(k => sums.ContainsKey($"{who}_{k}")).Select(k => KeyValuePair.Create(k, (JsonNode?)(sums[$"{who}_{k}"] / n))));
            var result = new JsonObject
            {
                ["seed"] = settings.Seed, ["sets"] = n, ["parent"] = Means("parent"), ["ensemble"] = Means("ensemble"), ["table"] = rows,
            };
            logger.LogInformation("Corrupted test sets ({Sets}): parent {Parent}; ensemble {Ensemble}", n,
                string.Join(", ", result["parent"]!.AsObject().Select(kv => $"c{kv.Key} {kv.Value!.GetValue<double>():F4}")),
                string.Join(", ", result["ensemble"]!.AsObject().Select(kv => $"c{kv.Key} {kv.Value!.GetValue<double>():F4}")));
            return result;
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
    }
}
