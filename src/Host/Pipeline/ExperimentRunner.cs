using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Host.Configuration;
using SubnetworkEnsembles.Host.Plugins;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Host.Pipeline;

/// <summary>
/// The pipeline of one experiment: train parent → (trust-region search) → for each child: sample ϕ (by sets) → copy
/// parent → perturb ξ → tune → evaluate → (model selection on the validation split) → combine and evaluate the
/// ensemble → results.json and predictions/*.npy. Every random draw comes from <see cref="Seeds"/> keyed by the run
/// seed and the child (or set) index, so a child can be regenerated alone.
/// </summary>
public sealed class ExperimentRunner(PluginFactory plugins, ILogger<ExperimentRunner> logger)
{
    /// <summary>Runs <paramref name="config"/> on <paramref name="data"/> into <paramref name="run"/>; returns results.json's content.</summary>
    public JsonObject Run(ExperimentConfig config, DataSplits data, Device device, RunDirectory run, double dataSeconds, CancellationToken cancellation)
    {
        var total = Stopwatch.StartNew();
        if (config.Threads > 0) set_num_threads(config.Threads);
        if ((config.Children.Keep > 0 || config.Children.TrustRegion is not null) && data.Validation.Count == 0)
            throw new InvalidOperationException("model selection and the trust-region search score on the validation split: set data.validation > 0");
        data.MoveTo(device);
        var trainer = new Trainer(logger);
        var evaluation = new MemberEvaluation(config.Metrics.Select(m => (m.Type, plugins.Create<IMetric>(m))).ToList(),
            plugins.Create<IEnsembleCombiner>(config.Combiner));
        using var testLabels = data.Test.Labels.cpu();
        using var validationLabels = data.Validation.Labels.cpu();
        logger.LogInformation("Data {Name}: {Train} train, {Validation} validation, {Test} test rows; device {Device}; {Threads} threads",
            data.Name, data.Train.Count, data.Validation.Count, data.Test.Count, device, get_num_threads());

        // Parent.
        var clock = Stopwatch.StartNew();
        manual_seed(Seeds.Derive(config.Seed, "parent-init"));
        using var parent = config.Model.Build(data.InputShape, data.Classes);
        parent.to(device);
        logger.LogInformation("Parent {Model}: {Parameters:N0} parameters, {Layers} maskable weights", config.Model.Type, parent.ParameterCount, parent.MaskedLayers.Count);
        var parentHistory = ChildBuilder.TrainStage(trainer, plugins, parent, data, config.Parent, "parent",
            Seeds.Derive(config.Seed, "parent-shuffle"), null, cancellation);
        SaveCheckpoint(parent, run.ParentCheckpoint);
        double parentSeconds = clock.Elapsed.TotalSeconds;
        using var parentProbs = Evaluator.Probabilities(parent, data.Test.Inputs);
        var parentEval = evaluation.Single(parentProbs, testLabels);
        logger.LogInformation("Parent test: {Metrics}", Format(parentEval.Values));

        // Trust-region search (optional), then the children.
        clock.Restart();
        TrustRegionChoice? region = config.Children.TrustRegion is null ? null
            : TrustRegionSearch.Run(config, data, device, trainer, parent, plugins, logger, cancellation);
        double searchSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var sampler = plugins.Create<ISubnetworkSampler>(config.Children.Sampler, region?.SamplerOverrides);
        var perturbation = plugins.Create<IPerturbation>(config.Children.Perturbation, region?.PerturbationOverrides);
        var members = new List<JsonObject>();
        var testProbs = new List<Tensor>();
        var validationScores = new List<double>();
        try
        {
            using var builder = new ChildBuilder(config, data, device, trainer, parent, plugins, sampler, perturbation);
            for (int i = 0; i < config.Children.Count; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                var childClock = Stopwatch.StartNew();
                var (child, history) = builder.Build(i, tune: true, cancellation);
                using (child)
                {
                    SaveCheckpoint(child, run.ChildCheckpoint(i));
                    var probs = Evaluator.Probabilities(child, data.Test.Inputs);
                    testProbs.Add(probs);
                    var childEval = evaluation.Single(probs, testLabels);
                    var member = new JsonObject { ["index"] = i, ["set"] = i / sampler.SetSize };
                    AddMetrics(member, childEval.Values);
                    if (config.Children.Keep > 0)
                    {
                        using var validationProbs = Evaluator.Probabilities(child, data.Validation.Inputs);
                        var score = evaluation.Single(validationProbs, validationLabels).Values;
                        double value = config.Children.SelectBy == SelectionMetric.Nll ? score["nll"] : -score["accuracy"];
                        validationScores.Add(value);
                        member[config.Children.SelectBy == SelectionMetric.Nll ? "validation_nll" : "validation_accuracy"] = Math.Abs(value);
                    }
                    member["sparsity"] = child.Sparsity;
                    member["nonzero_parameters"] = child.NonZeroParameterCount;
                    member["seconds"] = childClock.Elapsed.TotalSeconds;
                    member["history"] = HistoryJson(history);
                    members.Add(member);
                    logger.LogInformation("Child {Index}/{Count} test: {Metrics}, sparsity {Sparsity:P1}, {Seconds:F1} s",
                        i + 1, config.Children.Count, Format(childEval.Values), child.Sparsity, childClock.Elapsed.TotalSeconds);
                }
            }
            double childrenSeconds = clock.Elapsed.TotalSeconds;

            // Model selection: the best `keep` children by validation score (ties: lower index), never by test data.
            clock.Restart();
            var selected = config.Children.Keep > 0
                ? Enumerable.Range(0, members.Count).OrderBy(i => validationScores[i]).ThenBy(i => i).Take(config.Children.Keep).Order().ToList()
                : Enumerable.Range(0, members.Count).ToList();
            foreach (var (m, i) in members.Select((m, i) => (m, i))) m["selected"] = selected.Contains(i);
            using var stacked = stack(selected.Select(i => testProbs[i]), 0);
            var ensembleEval = evaluation.Ensemble(stacked, testLabels);
            logger.LogInformation("Ensemble of {Count} test: {Metrics} (parent: {Parent})", selected.Count, Format(ensembleEval.Values), Format(parentEval.Values));
            if (config.SavePredictions) SavePredictions(run, stacked, parentProbs, testLabels);

            var ensembleJson = new JsonObject { ["combiner"] = config.Combiner.Type, ["members"] = selected.Count, ["member_indices"] = new JsonArray(selected.Select(i => (JsonNode)i).ToArray()) };
            AddMetrics(ensembleJson, ensembleEval.Values);
            if (ensembleEval.Pairwise.Count > 0)
                ensembleJson["pairwise"] = new JsonObject(ensembleEval.Pairwise.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)MatrixJson(kv.Value))));
            var parentJson = new JsonObject();
            AddMetrics(parentJson, parentEval.Values);
            parentJson["parameters"] = parent.ParameterCount;
            parentJson["nonzero_parameters"] = parent.NonZeroParameterCount;
            parentJson["history"] = HistoryJson(parentHistory);
            var results = new JsonObject
            {
                ["name"] = config.Name,
                ["seed"] = config.Seed,
                ["device"] = device.ToString(),
                ["data"] = new JsonObject { ["dataset"] = data.Name, ["train"] = data.Train.Count, ["validation"] = data.Validation.Count, ["test"] = data.Test.Count },
                ["parent"] = parentJson,
                ["members"] = new JsonArray(members.Select(m => (JsonNode)m).ToArray()),
                ["ensemble"] = ensembleJson,
            };
            if (region is not null) results["trust_region"] = region.Report;
            results["seconds"] = new JsonObject
            {
                ["data"] = dataSeconds, ["parent"] = parentSeconds, ["trust_region"] = searchSeconds, ["children"] = childrenSeconds,
                ["ensemble"] = clock.Elapsed.TotalSeconds, ["total"] = dataSeconds + total.Elapsed.TotalSeconds,
            };
            results["threads"] = get_num_threads();
            results["versions"] = new JsonObject
            {
                ["sne"] = typeof(ExperimentRunner).Assembly.GetName().Version?.ToString(),
                ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(),
                ["abstractions"] = typeof(PluginAttribute).Assembly.GetName().Version?.ToString(),
            };
            return results;
        }
        finally
        {
            foreach (var p in testProbs) p.Dispose();
        }
    }

    /// <summary>predictions/members.npy float32 [M, N, C] (the ensemble's members, in index order), parent.npy [N, C], labels.npy int64 [N].</summary>
    private static void SavePredictions(RunDirectory run, Tensor members, Tensor parent, Tensor labels)
    {
        Directory.CreateDirectory(run.Combine("predictions"));
        NpyFile.Write(run.Combine("predictions", "members.npy"), members);
        NpyFile.Write(run.Combine("predictions", "parent.npy"), parent);
        NpyFile.Write(run.Combine("predictions", "labels.npy"), labels);
    }

    private static void SaveCheckpoint(MaskedNetwork model, string path) => RunDirectory.WriteAtomic(path, tmp => model.save(tmp));

    private static void AddMetrics(JsonObject target, IReadOnlyDictionary<string, double> metrics)
    {
        foreach (var (k, v) in metrics) target[k] = double.IsFinite(v) ? v : null;
    }

    private static JsonArray MatrixJson(double[][] matrix) =>
        new(matrix.Select(row => (JsonNode)new JsonArray(row.Select(v => (JsonNode?)(double.IsFinite(v) ? JsonValue.Create(v) : null)).ToArray())).ToArray());

    private static JsonArray HistoryJson(IReadOnlyList<EpochRecord> history) =>
        new(history.Select(h => (JsonNode)new JsonObject
        {
            ["epoch"] = h.Epoch, ["loss"] = double.IsFinite(h.Loss) ? h.Loss : null, ["accuracy"] = h.Accuracy,
            ["lr"] = h.LearningRate, ["seconds"] = h.Seconds,
        }).ToArray());

    private static string Format(IReadOnlyDictionary<string, double> metrics) =>
        string.Join(", ", metrics.Select(kv => $"{kv.Key} {kv.Value:F4}"));

    /// <summary>Serialises results with indentation.</summary>
    public static string ToJson(JsonObject results) => results.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
