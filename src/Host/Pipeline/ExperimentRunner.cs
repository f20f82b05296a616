using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Host.Configuration;
using SubnetworkEnsembles.Host.Plugins;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Host.Pipeline;

/// <summary>
/// The pipeline of one experiment: train parent → for each child: sample ϕ (by sets) → copy parent → perturb ξ →
/// tune → evaluate; then combine and evaluate the ensemble and write results.json. Every random draw comes from
/// <see cref="Seeds"/> keyed by the run seed and the child (or set) index, so a child can be regenerated alone.
/// </summary>
public sealed class ExperimentRunner(PluginFactory plugins, ILogger<ExperimentRunner> logger)
{
    /// <summary>Runs <paramref name="config"/> on <paramref name="data"/> into <paramref name="run"/>; returns results.json's content.</summary>
    public JsonObject Run(ExperimentConfig config, DataSplits data, Device device, RunDirectory run, double dataSeconds, CancellationToken cancellation)
    {
        var total = Stopwatch.StartNew();
        if (config.Threads > 0) set_num_threads(config.Threads);
        data.MoveTo(device);
        var trainer = new Trainer(logger);
        var metrics = config.Metrics.Select(m => (m.Type, plugins.Create<IMetric>(m))).ToList();
        var evaluation = new MemberEvaluation(metrics);
        using var testLabels = data.Test.Labels.cpu();
        logger.LogInformation("Data {Name}: {Train} train, {Validation} validation, {Test} test rows; device {Device}; {Threads} threads",
            data.Name, data.Train.Count, data.Validation.Count, data.Test.Count, device, get_num_threads());

        // Parent.
        var clock = Stopwatch.StartNew();
        manual_seed(Seeds.Derive(config.Seed, "parent-init"));
        using var parent = config.Model.Build(data.InputShape, data.Classes);
        parent.to(device);
        logger.LogInformation("Parent {Model}: {Parameters:N0} parameters, {Layers} maskable weights", config.Model.Type, parent.ParameterCount, parent.MaskedLayers.Count);
        var parentHistory = Train(trainer, parent, data, config.Parent, "parent", Seeds.Derive(config.Seed, "parent-shuffle"), null, cancellation);
        parent.save(run.ParentCheckpoint + ".tmp");
        File.Move(run.ParentCheckpoint + ".tmp", run.ParentCheckpoint, overwrite: true);
        double parentSeconds = clock.Elapsed.TotalSeconds;
        using var parentProbs = Evaluator.Probabilities(parent, data.Test.Inputs);
        var parentMetrics = evaluation.Single(parentProbs, testLabels);
        logger.LogInformation("Parent test: {Metrics}", Format(parentMetrics));

        // Children.
        clock.Restart();
        var sampler = plugins.Create<ISubnetworkSampler>(config.Children.Sampler);
        var perturbation = plugins.Create<IPerturbation>(config.Children.Perturbation);
        var maskable = Maskable(parent, config.Children);
        var members = new JsonArray();
        var memberProbs = new List<Tensor>();
        IReadOnlyList<ChildMask>? set = null;
        int setIndex = -1;
        try
        {
            for (int i = 0; i < config.Children.Count; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                var childClock = Stopwatch.StartNew();
                int s = i / sampler.SetSize;
                if (s != setIndex)
                {
                    DisposeAll(set);
                    using var generator = Seeds.Generator(config.Seed, "sampler-set", s);
                    set = sampler.SampleSet(maskable, generator);
                    setIndex = s;
                    if (set.Count != sampler.SetSize)
                        throw new InvalidOperationException($"sampler '{config.Children.Sampler.Type}' returned {set.Count} masks for a set of {sampler.SetSize}");
                }
                var (child, history) = MakeChild(config, data, device, trainer, parent, perturbation, set![i % sampler.SetSize], i, cancellation);
                using (child)
                {
                    child.save(run.ChildCheckpoint(i) + ".tmp");
                    File.Move(run.ChildCheckpoint(i) + ".tmp", run.ChildCheckpoint(i), overwrite: true);
                    var probs = Evaluator.Probabilities(child, data.Test.Inputs);
                    memberProbs.Add(probs);
                    var childMetrics = evaluation.Single(probs, testLabels);
                    logger.LogInformation("Child {Index}/{Count} test: {Metrics}, sparsity {Sparsity:P1}, {Seconds:F1} s",
                        i + 1, config.Children.Count, Format(childMetrics), child.Sparsity, childClock.Elapsed.TotalSeconds);
                    var member = new JsonObject { ["index"] = i, ["set"] = s };
                    AddMetrics(member, childMetrics);
                    member["sparsity"] = child.Sparsity;
                    member["nonzero_parameters"] = child.NonZeroParameterCount;
                    member["seconds"] = childClock.Elapsed.TotalSeconds;
                    member["history"] = HistoryJson(history);
                    members.Add(member);
                }
            }
            double childrenSeconds = clock.Elapsed.TotalSeconds;

            // Ensemble.
            clock.Restart();
            using var stacked = stack(memberProbs, 0);
            var ensembleMetrics = evaluation.Ensemble(stacked, testLabels);
            logger.LogInformation("Ensemble of {Count} test: {Metrics} (parent: {Parent})", memberProbs.Count, Format(ensembleMetrics), Format(parentMetrics));

            var parentJson = new JsonObject();
            AddMetrics(parentJson, parentMetrics);
            parentJson["parameters"] = parent.ParameterCount;
            parentJson["nonzero_parameters"] = parent.NonZeroParameterCount;
            parentJson["history"] = HistoryJson(parentHistory);
            var ensembleJson = new JsonObject { ["combiner"] = "mean", ["members"] = memberProbs.Count };
            AddMetrics(ensembleJson, ensembleMetrics);
            return new JsonObject
            {
                ["name"] = config.Name,
                ["seed"] = config.Seed,
                ["device"] = device.ToString(),
                ["data"] = new JsonObject { ["dataset"] = data.Name, ["train"] = data.Train.Count, ["validation"] = data.Validation.Count, ["test"] = data.Test.Count },
                ["parent"] = parentJson,
                ["members"] = members,
                ["ensemble"] = ensembleJson,
                ["seconds"] = new JsonObject
                {
                    ["data"] = dataSeconds,
                    ["parent"] = parentSeconds,
                    ["children"] = childrenSeconds,
                    ["ensemble"] = clock.Elapsed.TotalSeconds,
                    ["total"] = dataSeconds + total.Elapsed.TotalSeconds,
                },
                ["threads"] = get_num_threads(),
                ["versions"] = new JsonObject
                {
                    ["sne"] = typeof(ExperimentRunner).Assembly.GetName().Version?.ToString(),
                    ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(),
                    ["abstractions"] = typeof(PluginAttribute).Assembly.GetName().Version?.ToString(),
                },
            };
        }
        finally
        {
            DisposeAll(set);
            foreach (var p in memberProbs) p.Dispose();
        }
    }

    /// <summary>Builds child <paramref name="index"/>: copy of the parent, ξ applied with its mask, tuned.</summary>
    private (MaskedNetwork Child, IReadOnlyList<EpochRecord> History) MakeChild(ExperimentConfig config, DataSplits data, Device device,
        Trainer trainer, MaskedNetwork parent, IPerturbation perturbation, ChildMask mask, int index, CancellationToken cancellation)
    {
        var child = config.Model.Build(data.InputShape, data.Classes);
        try
        {
            child.to(device);
            child.CopyFrom(parent);
            var weights = Maskable(child, config.Children);
            using (var deviceMask = new ChildMask(mask.Masks.ToDictionary(kv => kv.Key, kv => kv.Value.to(device))))
            using (var generator = Seeds.Generator(config.Seed, "perturbation", index))
            {
                perturbation.Apply(weights, deviceMask, generator);
            }
            IReadOnlyList<EpochRecord> history = [];
            if (config.Children.Tuning.Epochs > 0)
            {
                history = Train(trainer, child, data, config.Children.Tuning, $"child {index + 1}/{config.Children.Count}",
                    Seeds.Derive(config.Seed, "child-shuffle", index), p => perturbation.OnTuningStep(weights, p), cancellation);
            }
            foreach (var w in weights) w.StochasticMask = null;   // evaluation always uses the target mask
            return (child, history);
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    private IReadOnlyList<EpochRecord> Train(Trainer trainer, MaskedNetwork model, DataSplits data, TrainingConfig stage, string label,
        long shuffleSeed, Action<TrainingProgress>? beforeStep, CancellationToken cancellation)
    {
        var factory = plugins.Create<IOptimizerFactory>(stage.Optimizer);
        var schedule = plugins.Create<ISchedule>(stage.Schedule);
        using var optimizer = factory.Create(model.parameters().ToList(), schedule.At(0, 1).LearningRate);
        using var shuffle = new Generator((ulong)shuffleSeed);
        return trainer.Train(model, data.Train, new TrainingSettings(stage.Epochs, stage.BatchSize), optimizer, schedule, shuffle, label, beforeStep, cancellation);
    }

    private static IReadOnlyList<IMaskableWeight> Maskable(MaskedNetwork model, ChildrenConfig children) =>
        model.MaskableWeights.Where(w => children.MaskOutputLayer || !w.IsOutputLayer).ToList();

    private static void AddMetrics(JsonObject target, IReadOnlyDictionary<string, double> metrics)
    {
        foreach (var (k, v) in metrics) target[k] = double.IsFinite(v) ? v : null;
    }

    private static JsonArray HistoryJson(IReadOnlyList<EpochRecord> history) =>
        new(history.Select(h => (JsonNode)new JsonObject
        {
            ["epoch"] = h.Epoch, ["loss"] = double.IsFinite(h.Loss) ? h.Loss : null, ["accuracy"] = h.Accuracy,
            ["lr"] = h.LearningRate, ["seconds"] = h.Seconds,
        }).ToArray());

    private static string Format(IReadOnlyDictionary<string, double> metrics) =>
        string.Join(", ", metrics.Select(kv => $"{kv.Key} {kv.Value:F4}"));

    private static void DisposeAll(IReadOnlyList<ChildMask>? set)
    {
        if (set is null) return;
        foreach (var m in set) m.Dispose();
    }

    /// <summary>Serialises results with indentation.</summary>
    public static string ToJson(JsonObject results) => results.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
