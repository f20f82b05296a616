using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Experiments.Results;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// Stage 1: trains and evaluates the parent (→ parent.ckpt, parent.json, predictions/parent.npy) and runs the
/// trust-region search when one is configured (→ trust_region.json). parent.json is written last: it marks the stage done.
/// </summary>
internal sealed class ParentStage(PluginFactory plugins, ILogger logger, Func<Trainer> newTrainer, Func<Diagnostics.IFaultPoints> faults)
{
    /// <summary>Runs the stage, unless it finished earlier with intact files.</summary>
    public void Run(ExperimentConfig config, DataSplits data, Device device, RunDirectory run, double dataSeconds, CancellationToken cancellation)
    {
        if (File.Exists(run.ParentResults))
        {
            if (RunFiles.ParentDamage(run) is not { } damage)
            {
                logger.LogInformation("Parent: done earlier ({File})", run.ParentResults);
                return;
            }
            logger.LogWarning("{Damage}; the parent stage is run again (deterministically, so nothing changes)", damage);
        }
        if (File.Exists(run.ParentResults))
            logger.LogWarning("{File} {Problem}; the parent stage is done again (it gives the same weights)", run.ParentCheckpoint,
                File.Exists(run.ParentCheckpoint + ".sha256") ? "fails its SHA-256 check (damaged or truncated)" : "is missing or has no checksum");
        var clock = Stopwatch.StartNew();
        logger.LogInformation("Data {Name}: {Train} train, {Validation} validation, {Test} test rows; device {Device}; {Threads} threads",
            data.Name, data.Train.Count, data.Validation.Count, data.Test.Count, device, get_num_threads());
        using var parent = plugins.Build(config.Model, data.InputShape, data.Classes, Seeds.Generator(config.Seed, "parent-init"));
        ParentWeightsInfo? weights = null;
        if (config.Parent.Weights is { } file)
        {
            weights = ParentWeights.Load(parent, file, config.Parent.Rename);
            logger.LogInformation("Parent weights: {Tensors} tensors from the {Format} {Path}{Then}", weights!.Tensors, weights.Format, file,
                config.Parent.Epochs > 0 ? $", then {config.Parent.Epochs} epochs of training" : " (used as it is)");
        }
        parent.to(device);
        logger.LogInformation("Parent {Model}: {Parameters:N0} parameters, {Layers} maskable weights", config.Model.Type, parent.ParameterCount, parent.MaskedLayers.Count);
        var training = config.Parent.Epochs == 0 ? new TrainingOutcome([], null) : ChildBuilder.TrainStage(newTrainer(), plugins, parent, data, config.Parent, "parent",
            Seeds.Derive(config.Seed, "parent-shuffle"), null, cancellation, new TrainingCheckpointFile(run.ParentTrainingState, logger, faults()),
            ChildBuilder.Validation(config, plugins, data, config.Parent, "parent"),
            carry: OptimizerStateFile.CarriedFromParent(config) ? new OptimizerCarry(null, o => OptimizerStateFile.Save(OptimizerStateFile.Of(run, -1), o, faults())) : null);
        double trainSeconds = clock.Elapsed.TotalSeconds;
        using var probs = Evaluator.Probabilities(parent, data.Test);
        using var labels = data.Test.Labels.cpu();
        var evaluation = MemberEvaluation.Configured(config, plugins).OfOneModel(probs, labels);
        var metrics = new MetricValues(evaluation.Values);
        logger.LogInformation("Parent test: {Metrics}", metrics.ToString());
        McDropoutResult? mcDropout = null;
        if (config.McDropout > 0)
        {
            using var mcProbs = Evaluator.McDropoutProbabilities(parent, data.Test.ReadRange(0, data.Test.Count), config.McDropout, Seeds.Derive(config.Seed, "mc-dropout"));
            var mc = new MetricValues(MemberEvaluation.Configured(config, plugins).OfOneModel(mcProbs, labels).Values);
            mcDropout = new McDropoutResult { Samples = config.McDropout, Metrics = mc };
            logger.LogInformation("Parent with MC dropout ({Samples} passes) test: {Metrics}", config.McDropout, mc.ToString());
        }
        var result = new ParentResult
        {
            Metrics = metrics,
            TrainRows = config.Parent.Rows(data.Train.Count),
            Parameters = parent.ParameterCount,
            NonzeroParameters = parent.NonZeroParameterCount,
            History = training.History.Select(TrainingEpoch.From).ToList(),
            EarlyStopping = EarlyStoppingResult.From(config.Parent.EarlyStopping, training.EarlyStopping),
            Weights = weights,
            McDropout = mcDropout,
            Seconds = new ParentSeconds { Data = dataSeconds, Training = trainSeconds },
        };

        if (config.Children.TrustRegion is not null)
        {
            var searchClock = Stopwatch.StartNew();
            var choice = TrustRegionSearch.Run(config, data, device, newTrainer(), parent, plugins, logger, cancellation, faults());
            (choice.Report with { Seconds = searchClock.Elapsed.TotalSeconds }).Write(run.TrustRegionFile, faults());
        }
        Directory.CreateDirectory(run.Combine("predictions"));
        NpyFile.WriteChecksummed(run.Combine("predictions", "parent.npy"), probs, faults());
        RunDirectory.WriteCheckpoint(run.ParentCheckpoint, tmp => parent.save(tmp), faults());
        result.Write(run.ParentResults, faults());   // last: marks the stage done
        File.Delete(run.ParentTrainingState);
    }
}
